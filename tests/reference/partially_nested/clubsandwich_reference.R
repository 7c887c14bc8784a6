# Partially nested ITT: CR2 SE and Satterthwaite (Bell-McCaffrey) df from clubSandwich
# with each control person as their own cluster (singletons), on partially_nested_data.csv.
# Rerun: Rscript clubsandwich_reference.R > clubsandwich_reference.Rout
library(clubSandwich)
d <- read.csv("partially_nested_data.csv", stringsAsFactors = FALSE)
d$treat <- as.numeric(d$arm == "treatment")
# clusters: the specialist in the treatment arm, a singleton per control person
d$cl <- ifelse(d$treat == 1, d$specialist, paste0("single", seq_len(nrow(d))))
stopifnot(!any(is.na(d$cl)))
d$xc <- d$x - mean(d$x)
fits <- list(
  dim = lm(y ~ treat, data = d),
  lin = lm(y ~ treat * xc, data = d),
  strata_fe = lm(y ~ treat + factor(stratum), data = d)
)
rows <- list()
for (k in names(fits)) {
  ct <- coef_test(fits[[k]], vcov = "CR2", cluster = d$cl, test = "Satterthwaite")
  print(k); print(ct)
  i <- which(ct$Coef == "treat")
  rows[[k]] <- data.frame(case = paste0(k, "_CR2"), estimate = coef(fits[[k]])[["treat"]],
                          std_error = ct$SE[i], df = ct$df_Satt[i],
                          source = "clubSandwich coef_test CR2 Satterthwaite")
}
out <- do.call(rbind, rows)
print(out, digits = 17)
for (v in c("estimate", "std_error", "df")) out[[v]] <- sprintf("%.17g", out[[v]])  # all digits
write.csv(out, "clubsandwich_results.csv", row.names = FALSE, quote = c(1, 5))
print(sessionInfo())
