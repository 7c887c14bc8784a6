# Reference values for CR2 (Bell-McCaffrey) variance and Satterthwaite degrees
# of freedom from clubSandwich, an implementation independent of estimatr.
#
# Regenerate from the repository root (after estimatr_reference.R, whose
# results it is compared with at the end):
#   Rscript tests/reference/itt/clubsandwich_reference.R \
#     > tests/reference/itt/clubsandwich_reference.Rout 2>&1
#
# Writes next to this script
#   clubsandwich_results.csv  case, data_file, r_call, term, estimate,
#                             std_error, df_satterthwaite, p_value, plus
#                             statistic, cr_type, inverse_var and
#                             estimatr_case (the estimatr_results.csv case
#                             that fits the same model, or NA)
#   clubsandwich_vcov.csv     case, row_term, col_term, value: every entry of
#                             the CR2 covariance matrix
# Numbers use sprintf("%.17g"). `r_call` is the exact code evaluated with
#   d <- read.csv(file.path("data", data_file), stringsAsFactors = FALSE)
# and it leaves the fit in `fit`, the matrix in `V` and the test in `ct`.
#
# Weights: for a weighted lm, clubSandwich's default (inverse_var = FALSE)
# takes the working covariance to be the identity (weights treated as sampling
# weights, not inverse variances); inverse_var = TRUE takes it to be diag(1/w).
# Both are recorded. estimatr 1.0.0's weighted CR2 agrees with the default
# (to ~1e-14 in SE and df), not with inverse_var = TRUE (see the comparison
# printed at the end of the .Rout).

suppressPackageStartupMessages(library(clubSandwich))
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
data_dir <- file.path(script_dir, "data")
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))

cases <- list()
add <- function(case, data_file, model, estimatr_case = NA_character_, cluster = "d$cluster",
                inverse_var = NA, setup = NULL) {
  iv <- if (is.na(inverse_var)) "" else sprintf(", inverse_var = %s", inverse_var)
  r_call <- paste0(
    if (is.null(setup)) "" else paste0(setup, "; "),
    "fit <- ", model, "; ",
    sprintf("V <- vcovCR(fit, cluster = %s, type = \"CR2\"%s); ", cluster, iv),
    "ct <- coef_test(fit, vcov = V, test = \"Satterthwaite\")"
  )
  cases[[length(cases) + 1]] <<- list(
    case = case, data_file = data_file, r_call = r_call, estimatr_case = estimatr_case,
    inverse_var = inverse_var
  )
}

covs <- "x1 + x2 + x3"
lin_setup <- "d <- transform(d, x1_c = x1 - mean(x1), x2_c = x2 - mean(x2), x3_c = x3 - mean(x3))"
lin_rhs <- "z + x1_c + x2_c + x3_c + z:x1_c + z:x2_c + z:x3_c"

for (f in c("clustered.csv", "few_clusters.csv")) {
  p <- sub("\\.csv$", "", f)
  add(paste0(p, "_ols"), f, "lm(y ~ z, data = d)", paste0(p, "_ols_CR2"))
  add(paste0(p, "_ols_cov"), f, sprintf("lm(y ~ z + %s, data = d)", covs), paste0(p, "_ols_cov_CR2"))
  add(paste0(p, "_lin"), f, sprintf("lm(y ~ %s, data = d)", lin_rhs), paste0(p, "_lin_CR2"),
      setup = lin_setup)
}

f <- "block_clustered.csv"
add("block_clustered_ols", f, "lm(y ~ z, data = d)", "block_clustered_dim_clusters_only")
add("block_clustered_ols_cov", f, sprintf("lm(y ~ z + %s, data = d)", covs))
add("block_clustered_dummies", f, "lm(y ~ z + factor(block), data = d)", "block_clustered_fe_CR2")
add("block_clustered_dummies_cov", f, sprintf("lm(y ~ z + factor(block) + %s, data = d)", covs),
    "block_clustered_fe_cov_CR2")
add("block_clustered_lin", f, sprintf("lm(y ~ %s, data = d)", lin_rhs), "block_clustered_lin_CR2",
    setup = lin_setup)

f <- "weighted.csv"
for (iv in c(FALSE, TRUE)) {
  sfx <- if (iv) "_invvar" else "_default"
  add(paste0("weighted_ols", sfx), f, "lm(y ~ z, data = d, weights = w)",
      if (iv) NA_character_ else "weighted_ols_cl_CR2", inverse_var = iv)
  add(paste0("weighted_ols_cov", sfx), f, sprintf("lm(y ~ z + %s, data = d, weights = w)", covs),
      if (iv) NA_character_ else "weighted_ols_cov_cl_CR2", inverse_var = iv)
  add(paste0("weighted_dummies", sfx), f, "lm(y ~ z + factor(block), data = d, weights = w)",
      if (iv) NA_character_ else "weighted_dummies_cl_CR2", inverse_var = iv)
  add(paste0("weighted_lin", sfx), f, sprintf("lm(y ~ %s, data = d, weights = w)", lin_rhs),
      if (iv) NA_character_ else "weighted_lin_cl_CR2", inverse_var = iv,
      setup = "d <- transform(d, x1_c = x1 - weighted.mean(x1, w), x2_c = x2 - weighted.mean(x2, w), x3_c = x3 - weighted.mean(x3, w))")
}

f <- "matched_cluster_pairs.csv"
add("matched_cluster_pairs_dummies", f, "lm(y ~ z + factor(block), data = d)", "matched_cluster_pairs_fe_CR2")

# The blocked data with each stratum treated as a cluster: treatment varies
# within these "clusters", so this is only a check of the CR2 algebra with
# very unequal cluster sizes (2 to 120) and 5 clusters.
f <- "blocked_min2.csv"
add("blocked_min2_as_clusters", f, "lm(y ~ z, data = d)", cluster = "d$block")

stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "case")))
res_rows <- list()
vc_rows <- list()
for (cs in cases) {
  d <- read.csv(file.path(data_dir, cs$data_file), stringsAsFactors = FALSE)
  eval(parse(text = cs$r_call))
  cat(sprintf("\n=== %s  [%s]\n%s\n", cs$case, cs$data_file, cs$r_call))
  print(ct)
  res_rows[[length(res_rows) + 1]] <- data.frame(
    case = cs$case,
    data_file = cs$data_file,
    r_call = cs$r_call,
    term = ct$Coef,
    estimate = fmt(ct$beta),
    std_error = fmt(ct$SE),
    df_satterthwaite = fmt(ct$df_Satt),
    p_value = fmt(ct$p_Satt),
    statistic = fmt(ct$tstat),
    cr_type = attr(V, "type"),
    inverse_var = if (is.na(cs$inverse_var)) "default" else as.character(cs$inverse_var),
    estimatr_case = cs$estimatr_case,
    stringsAsFactors = FALSE
  )
  M <- as.matrix(V)
  grid <- expand.grid(i = seq_len(nrow(M)), j = seq_len(ncol(M)))
  vc_rows[[length(vc_rows) + 1]] <- data.frame(
    case = cs$case,
    row_term = rownames(M)[grid$i],
    col_term = colnames(M)[grid$j],
    value = fmt(M[cbind(grid$i, grid$j)]),
    stringsAsFactors = FALSE
  )
}
res <- do.call(rbind, res_rows)
vc <- do.call(rbind, vc_rows)
text_cols <- c("case", "data_file", "r_call", "term", "cr_type", "inverse_var", "estimatr_case",
               "row_term", "col_term")
write.csv(res, file.path(script_dir, "clubsandwich_results.csv"), row.names = FALSE, na = "NA",
          quote = which(names(res) %in% text_cols))
write.csv(vc, file.path(script_dir, "clubsandwich_vcov.csv"), row.names = FALSE, na = "NA",
          quote = which(names(vc) %in% text_cols))
cat(sprintf("\nwrote %d coefficient rows (%d cases) and %d covariance entries\n",
            nrow(res), length(cases), nrow(vc)))

# ---------------------------------------------------------------------------
# Agreement with estimatr on the same models (every shared term).
# ---------------------------------------------------------------------------
est_file <- file.path(script_dir, "estimatr_results.csv")
if (file.exists(est_file)) {
  est <- read.csv(est_file, stringsAsFactors = FALSE)
  m <- merge(res[!is.na(res$estimatr_case), ], est,
             by.x = c("estimatr_case", "term"), by.y = c("case", "term"),
             suffixes = c("_cs", "_er"))
  num <- function(x) as.numeric(x)
  cmp <- data.frame(
    clubsandwich_case = m$case,
    estimatr_case = m$estimatr_case,
    term = m$term,
    abs_diff_estimate = abs(num(m$estimate_cs) - num(m$estimate_er)),
    rel_diff_se = abs(num(m$std_error_cs) / num(m$std_error_er) - 1),
    df_clubsandwich = num(m$df_satterthwaite),
    df_estimatr = num(m$df),
    rel_diff_df = abs(num(m$df_satterthwaite) / num(m$df) - 1)
  )
  cat("\n--- clubSandwich vs estimatr (relative differences) ---\n")
  print(cmp, row.names = FALSE, digits = 6)
  cat(sprintf(paste0("\nlargest absolute estimate difference: %.3g; largest relative SE difference: %.3g; ",
                     "largest relative df difference: %.3g\n"),
              max(cmp$abs_diff_estimate), max(cmp$rel_diff_se), max(cmp$rel_diff_df)))
  wt <- res[grepl("^weighted_.*_default$", res$case) & res$term == "z", ]
  wi <- res[grepl("^weighted_.*_invvar$", res$case) & res$term == "z", ]
  cat("\n--- weighted fits, term z: default (identity working model) vs inverse_var = TRUE ---\n")
  print(data.frame(case_default = wt$case, se_default = num(wt$std_error), df_default = num(wt$df_satterthwaite),
                   se_invvar = num(wi$std_error), df_invvar = num(wi$df_satterthwaite)),
        row.names = FALSE, digits = 8)
}

cat("\n")
print(sessionInfo())
