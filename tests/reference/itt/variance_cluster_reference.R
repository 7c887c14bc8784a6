# Reference values for a cluster used for the variance only: an individually
# randomised trial (variance_cluster_data.csv, written by
# make_variance_cluster_data.py) whose villages hold both arms. The estimate is
# the usual one; only the variance is clustered by village (estimatr's
# lm_robust / lm_lin / iv_robust with clusters =, CR2 with Bell-McCaffrey df by
# default, CR0 and "stata" with G - 1 df).
#
# Not difference_in_means(clusters =): that assumes whole clusters were assigned
# and refuses villages that hold both arms.
#
# Regenerate from the repository root:
#   Rscript tests/reference/itt/variance_cluster_reference.R \
#     > tests/reference/itt/variance_cluster_reference.Rout 2>&1
#
# Writes variance_cluster_results.csv: one row per case (the coefficient of z,
# or of d for iv_robust), numbers with sprintf("%.17g").

suppressPackageStartupMessages(library(estimatr))
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
d <- read.csv(file.path(script_dir, "variance_cluster_data.csv"), stringsAsFactors = FALSE)

fmt <- function(x) sprintf("%.17g", as.numeric(x))

cases <- list(
  c("dim_CR2", "z", "lm_robust(y ~ z, data = d, clusters = village, se_type = \"CR2\")"),
  c("dim_CR0", "z", "lm_robust(y ~ z, data = d, clusters = village, se_type = \"CR0\")"),
  c("dim_stata", "z", "lm_robust(y ~ z, data = d, clusters = village, se_type = \"stata\")"),
  c("additive_CR2", "z", "lm_robust(y ~ z + x1 + x2, data = d, clusters = village, se_type = \"CR2\")"),
  c("lin_CR2", "z", "lm_lin(y ~ z, covariates = ~ x1 + x2, data = d, clusters = village, se_type = \"CR2\")"),
  c("lin_stata", "z", "lm_lin(y ~ z, covariates = ~ x1 + x2, data = d, clusters = village, se_type = \"stata\")"),
  c("strata_fe_CR2", "z", "lm_robust(y ~ z + factor(block), data = d, clusters = village, se_type = \"CR2\")"),
  c("strata_fe_CR0", "z", "lm_robust(y ~ z + factor(block), data = d, clusters = village, se_type = \"CR0\")"),
  c("strata_lin_cov_CR2", "z", "lm_lin(y ~ z, covariates = ~ factor(block) + x1 + x2, data = d, clusters = village, se_type = \"CR2\")"),
  c("blocked_dim_CR2", "z", "lm_lin(y ~ z, covariates = ~ factor(block), data = d, clusters = village, se_type = \"CR2\")"),
  c("weighted_CR2", "z", "lm_robust(y ~ z, data = d, weights = w, clusters = village, se_type = \"CR2\")"),
  c("cace_HC2", "d", "iv_robust(y ~ d | z, data = d, se_type = \"HC2\")"),
  c("cace_weighted_HC2", "d", "iv_robust(y ~ d | z, data = d, weights = w, se_type = \"HC2\")"),
  c("cace_weighted_cov_HC2", "d", "iv_robust(y ~ d + x1 + x2 | z + x1 + x2, data = d, weights = w, se_type = \"HC2\")"),
  c("cace_weighted_classical", "d", "iv_robust(y ~ d | z, data = d, weights = w, se_type = \"classical\")"),
  c("cace_CR2", "d", "iv_robust(y ~ d | z, data = d, clusters = village, se_type = \"CR2\")"),
  c("cace_weighted_CR2", "d", "iv_robust(y ~ d | z, data = d, weights = w, clusters = village, se_type = \"CR2\")"),
  c("cace_weighted_stata", "d", "iv_robust(y ~ d | z, data = d, weights = w, clusters = village, se_type = \"stata\")")
)

rows <- list()
for (cs in cases) {
  fit <- eval(parse(text = cs[[3]]))
  cat("\n==== ", cs[[1]], ": ", cs[[3]], "\n", sep = "")
  print(summary(fit))
  tt <- tidy(fit)
  r <- tt[tt$term == cs[[2]], ]
  rows[[length(rows) + 1]] <- data.frame(
    case = cs[[1]], r_call = cs[[3]], term = cs[[2]],
    estimate = fmt(r$estimate), std_error = fmt(r$std.error), df = fmt(r$df),
    p_value = fmt(r$p.value), conf_low = fmt(r$conf.low), conf_high = fmt(r$conf.high),
    n_obs = fit$nobs, n_clusters = if (is.null(fit$nclusters)) NA else fit$nclusters,
    se_type = fit$se_type, stringsAsFactors = FALSE
  )
}
out <- do.call(rbind, rows)
write.csv(out, file.path(script_dir, "variance_cluster_results.csv"), row.names = FALSE)
cat("\n")
print(sessionInfo())
