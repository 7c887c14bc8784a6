# Reference values for Effect.with_se("HC2") (and other HC types) on a result whose
# cluster is for the variance only (an individually randomised trial,
# variance_cluster_data.csv): people were randomised, so an HC variance is valid and
# is computed without the clusters, as estimatr users get it from lm_robust /
# lm_lin with se_type = "HC2" and no clusters =.
#
# Regenerate from the repository root:
#   Rscript tests/reference/itt/variance_cluster_hc_reference.R \
#     > tests/reference/itt/variance_cluster_hc_reference.Rout 2>&1
#
# Writes variance_cluster_hc_results.csv: one row per case (the coefficient of z),
# numbers with sprintf("%.17g").

suppressPackageStartupMessages(library(estimatr))
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
d <- read.csv(file.path(script_dir, "variance_cluster_data.csv"), stringsAsFactors = FALSE)

fmt <- function(x) sprintf("%.17g", as.numeric(x))

cases <- list(
  c("dim_HC2", "lm_robust(y ~ z, data = d, se_type = \"HC2\")"),
  c("dim_HC1", "lm_robust(y ~ z, data = d, se_type = \"HC1\")"),
  c("lin_HC2", "lm_lin(y ~ z, covariates = ~ x1 + x2, data = d, se_type = \"HC2\")"),
  c("additive_HC3", "lm_robust(y ~ z + x1 + x2, data = d, se_type = \"HC3\")"),
  c("strata_fe_HC2", "lm_robust(y ~ z + factor(block), data = d, se_type = \"HC2\")"),
  c("blocked_dim_HC2", "lm_lin(y ~ z, covariates = ~ factor(block), data = d, se_type = \"HC2\")"),
  c("weighted_HC2", "lm_robust(y ~ z, data = d, weights = w, se_type = \"HC2\")")
)

rows <- list()
for (cs in cases) {
  fit <- eval(parse(text = cs[[2]]))
  cat("\n==== ", cs[[1]], ": ", cs[[2]], "\n", sep = "")
  print(summary(fit))
  tt <- tidy(fit)
  r <- tt[tt$term == "z", ]
  rows[[length(rows) + 1]] <- data.frame(
    case = cs[[1]], r_call = cs[[2]], term = "z",
    estimate = fmt(r$estimate), std_error = fmt(r$std.error), df = fmt(r$df),
    n_obs = fit$nobs, se_type = fit$se_type, stringsAsFactors = FALSE
  )
}
out <- do.call(rbind, rows)
write.csv(out, file.path(script_dir, "variance_cluster_hc_results.csv"), row.names = FALSE)
cat("\n")
print(sessionInfo())
