# Dunnett (many-to-one, single-step) references from multcomp::glht(mcp(arm = "Dunnett")).
# Run from this folder:  Rscript multcomp_reference.R > multcomp_reference.Rout 2>&1
suppressPackageStartupMessages({library(multcomp); library(sandwich)})
set.seed(20261205)
acc <- function(g) summary(g, test = adjusted("single-step", abseps = 1e-6, maxpts = 2e6))
out <- list()
one <- function(dataset, outcome, vc, df_rule, d, df) {
  d$arm <- factor(d$arm, levels = c("control", setdiff(sort(unique(d$arm)), "control")))
  m <- lm(reformulate("arm", outcome), data = d)
  V <- if (vc == "HC2") vcovHC(m, type = "HC2") else vcov(m)
  g <- glht(m, linfct = mcp(arm = "Dunnett"), vcov. = V, df = df)
  s <- acc(g)
  print(s)
  R <- cov2cor(vcov(g))
  print(R)
  arms <- sub(" - control", "", names(coef(g)))
  cbind(data.frame(dataset = dataset, outcome = outcome, vcov = vc, df_rule = df_rule, df = df,
             treatment = arms, estimate = unname(coef(g)), statistic = unname(s$test$tstat),
             p_value_dunnett = unname(s$test$pvalues)),
             setNames(as.data.frame(unname(R)), paste0("corr_", seq_len(nrow(R)))))
}
# 1. four heteroskedastic arms, HC2 covariance; mvtnorm needs an integer df: the floor of
#    the smallest Welch df of the contrasts
d <- read.csv("data/multiarm.csv")
for (y in c("y1", "y2")) {
  v <- tapply(d[[y]], d$arm, var) / tapply(d[[y]], d$arm, length)
  n <- tapply(d[[y]], d$arm, length)
  others <- setdiff(names(v), "control")
  welch <- sapply(others, function(k) (v["control"] + v[k])^2 /
                    (v["control"]^2 / (n["control"] - 1) + v[k]^2 / (n[k] - 1)))
  cat("Welch df", y, ":", welch, "\n")
  out[[length(out) + 1]] <- one("multiarm", y, "HC2", "floor(min Welch df)", d, floor(min(welch)))
}
# 2. equal sample variances, classical covariance: df = N - 3 (one-way ANOVA, as
#    scipy.stats.dunnett) and df = min(n_k + n_c - 2) (the smallest two-arm df, as
#    impact_table uses with se_type = "classical")
h <- read.csv("data/homoskedastic.csv")
n <- table(h$arm)
out[[length(out) + 1]] <- one("homoskedastic", "y", "classical", "N - 3", h, nrow(h) - 3)
out[[length(out) + 1]] <- one("homoskedastic", "y", "classical", "min two-arm df", h,
                              min(n[c("a", "b")] + n["control"] - 2))
res <- do.call(rbind, lapply(out, function(x) { for (k in 1:3) if (is.null(x[[paste0("corr_", k)]])) x[[paste0("corr_", k)]] <- NA; x }))
write.csv(res, "multcomp_results.csv", row.names = FALSE)
print(res, digits = 12)
print(sessionInfo())
