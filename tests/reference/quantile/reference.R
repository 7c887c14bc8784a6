# Quantile treatment effects as quantreg's rq(earnings ~ arm, tau = ...) coefficient on
# the treatment dummy, and each arm's type-1 quantile (quantile(type = 1)) for
# comparison. Rerun: Rscript reference.R > reference.Rout
library(quantreg)
taus <- c(0.1, 0.25, 0.3, 0.4, 0.45, 0.5, 0.6, 0.75, 0.9)
out <- list()
for (file in c("earnings_data.csv", "earnings_even.csv")) {
  d <- read.csv(file)
  d$treat <- as.numeric(d$arm == "treatment")
  fit <- rq(earnings ~ treat, tau = taus, data = d)  # method "br" (the default)
  co <- coef(fit)
  qc <- quantile(d$earnings[d$treat == 0], taus, type = 1, names = FALSE)
  qt <- quantile(d$earnings[d$treat == 1], taus, type = 1, names = FALSE)
  res <- data.frame(file = file, tau = taus, rq_intercept = co[1, ], rq_treat = co[2, ],
                    type1_control = qc, type1_treatment = qt, type1_difference = qt - qc,
                    n_control = sum(d$treat == 0), n_treatment = sum(d$treat == 1),
                    zero_share_control = mean(d$earnings[d$treat == 0] == 0),
                    zero_share_treatment = mean(d$earnings[d$treat == 1] == 0))
  print(fit)
  print(res, digits = 17)
  out[[file]] <- res
}
write.csv(do.call(rbind, out), "reference_results.csv", row.names = FALSE)
print(sessionInfo())
