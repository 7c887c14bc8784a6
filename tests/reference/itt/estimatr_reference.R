# Reference values for the ITT estimator from estimatr (DeclareDesign).
#
# Regenerate from the repository root:
#   Rscript tests/reference/itt/estimatr_reference.R \
#     > tests/reference/itt/estimatr_reference.Rout 2>&1
#
# Reads the CSV files in data/ (written by make_data.py) and writes
# estimatr_results.csv next to this script: one row per (case, term), every
# number formatted with sprintf("%.17g") so that it round-trips to the same
# double. `r_call` is the exact expression that was evaluated, with `d` bound to
#   d <- read.csv(file.path("data", data_file), stringsAsFactors = FALSE)
#
# Extra columns beyond the tidy ones: se_type (lm_robust/lm_lin only),
# n_clusters and n_blocks (as estimatr reports them, NA when it reports none;
# note it reports n_clusters = 0 for Blocked and Matched-pair designs),
# warning (any R warning raised by the call, "; "-separated), error (the error
# message when estimatr refuses the call; then term and all numbers are NA).

suppressPackageStartupMessages(library(estimatr))
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
data_dir <- file.path(script_dir, "data")

read_data <- function(data_file) {
  read.csv(file.path(data_dir, data_file), stringsAsFactors = FALSE)
}

fmt <- function(x) {
  if (is.null(x) || length(x) == 0) return("NA")
  ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))
}

# ---------------------------------------------------------------------------
# The cases: (case, data_file, r_call). `d` is the data set.
# ---------------------------------------------------------------------------
cases <- list()
add <- function(case, data_file, r_call) {
  cases[[length(cases) + 1]] <<- list(case = case, data_file = data_file, r_call = r_call)
}

hc_types <- c("classical", "HC0", "HC1", "HC2", "HC3")
cr_types <- c("CR0", "stata", "CR2")
covs <- "x1 + x2 + x3"

# (a) standard two-arm ------------------------------------------------------
f <- "standard.csv"
add("standard_dim", f, "difference_in_means(y ~ z, data = d)")
add("standard_dim_arm", f,
    "difference_in_means(y ~ arm, data = d, condition1 = \"control\", condition2 = \"treatment\")")
add("standard_dim_arm_reversed", f,
    "difference_in_means(y ~ arm, data = d, condition1 = \"treatment\", condition2 = \"control\")")
add("standard_dim_alpha10", f, "difference_in_means(y ~ z, data = d, alpha = 0.1)")
for (s in hc_types) {
  add(paste0("standard_ols_", s), f, sprintf("lm_robust(y ~ z, data = d, se_type = \"%s\")", s))
  add(paste0("standard_ols_cov_", s), f,
      sprintf("lm_robust(y ~ z + %s, data = d, se_type = \"%s\")", covs, s))
}
add("standard_ols_cov_xb_HC2", f, "lm_robust(y ~ z + x1 + x2 + x3 + xb, data = d, se_type = \"HC2\")")
add("standard_ols_cov_HC2_alpha10", f,
    sprintf("lm_robust(y ~ z + %s, data = d, se_type = \"HC2\", alpha = 0.1)", covs))
for (s in c("HC0", "HC1", "HC2", "HC3")) {
  add(paste0("standard_lin_", s), f,
      sprintf("lm_lin(y ~ z, covariates = ~ %s, data = d, se_type = \"%s\")", covs, s))
}
add("standard_lin_xb_HC2", f,
    "lm_lin(y ~ z, covariates = ~ x1 + x2 + x3 + xb, data = d, se_type = \"HC2\")")

# (b) blocked with strata of 2 and 3 ----------------------------------------
f <- "blocked.csv"
add("blocked_dim", f, "difference_in_means(y ~ z, blocks = block, data = d)")
add("blocked_dim_unblocked", f, "difference_in_means(y ~ z, data = d)")
for (s in c("classical", "HC1", "HC2", "HC3")) {
  add(paste0("blocked_fe_", s), f,
      sprintf("lm_robust(y ~ z, fixed_effects = ~ block, data = d, se_type = \"%s\")", s))
}
add("blocked_fe_cov_HC2", f,
    sprintf("lm_robust(y ~ z + %s, fixed_effects = ~ block, data = d, se_type = \"HC2\")", covs))
add("blocked_dummies_HC2", f, "lm_robust(y ~ z + factor(block), data = d, se_type = \"HC2\")")

# (b') blocked, at least two per arm per stratum ----------------------------
f <- "blocked_min2.csv"
add("blocked_min2_dim", f, "difference_in_means(y ~ z, blocks = block, data = d)")
for (s in c("classical", "HC1", "HC2")) {
  add(paste0("blocked_min2_fe_", s), f,
      sprintf("lm_robust(y ~ z, fixed_effects = ~ block, data = d, se_type = \"%s\")", s))
}
add("blocked_min2_fe_cov_HC2", f,
    sprintf("lm_robust(y ~ z + %s, fixed_effects = ~ block, data = d, se_type = \"HC2\")", covs))
add("blocked_min2_lin_block_HC2", f,
    "lm_lin(y ~ z, covariates = ~ block, data = d, se_type = \"HC2\")")

# (c) clustered ---------------------------------------------------------------
for (f in c("clustered.csv", "few_clusters.csv")) {
  p <- sub("\\.csv$", "", f)
  add(paste0(p, "_dim"), f, "difference_in_means(y ~ z, clusters = cluster, data = d)")
  for (s in cr_types) {
    add(paste0(p, "_ols_", s), f,
        sprintf("lm_robust(y ~ z, clusters = cluster, data = d, se_type = \"%s\")", s))
    add(paste0(p, "_ols_cov_", s), f,
        sprintf("lm_robust(y ~ z + %s, clusters = cluster, data = d, se_type = \"%s\")", covs, s))
  }
  add(paste0(p, "_ols_default"), f, "lm_robust(y ~ z, clusters = cluster, data = d)")
  add(paste0(p, "_lin_CR2"), f,
      sprintf("lm_lin(y ~ z, covariates = ~ %s, clusters = cluster, data = d, se_type = \"CR2\")", covs))
  add(paste0(p, "_lin_stata"), f,
      sprintf("lm_lin(y ~ z, covariates = ~ %s, clusters = cluster, data = d, se_type = \"stata\")", covs))
}

# (d) stratified-clustered --------------------------------------------------
f <- "block_clustered.csv"
add("block_clustered_dim", f, "difference_in_means(y ~ z, blocks = block, clusters = cluster, data = d)")
add("block_clustered_dim_clusters_only", f, "difference_in_means(y ~ z, clusters = cluster, data = d)")
for (s in cr_types) {
  add(paste0("block_clustered_fe_", s), f,
      sprintf("lm_robust(y ~ z, fixed_effects = ~ block, clusters = cluster, data = d, se_type = \"%s\")", s))
}
add("block_clustered_fe_cov_CR2", f,
    sprintf("lm_robust(y ~ z + %s, fixed_effects = ~ block, clusters = cluster, data = d, se_type = \"CR2\")", covs))
add("block_clustered_dummies_CR2", f,
    "lm_robust(y ~ z + factor(block), clusters = cluster, data = d, se_type = \"CR2\")")
add("block_clustered_dummies_cov_CR2", f,
    sprintf("lm_robust(y ~ z + factor(block) + %s, clusters = cluster, data = d, se_type = \"CR2\")", covs))
add("block_clustered_fe_HC2", f, "lm_robust(y ~ z, fixed_effects = ~ block, data = d, se_type = \"HC2\")")
add("block_clustered_lin_CR2", f,
    sprintf("lm_lin(y ~ z, covariates = ~ %s, clusters = cluster, data = d, se_type = \"CR2\")", covs))

# (f) binary outcome --------------------------------------------------------
f <- "binary.csv"
add("binary_dim", f, "difference_in_means(y ~ z, data = d)")
for (s in hc_types) {
  add(paste0("binary_ols_", s), f, sprintf("lm_robust(y ~ z, data = d, se_type = \"%s\")", s))
  add(paste0("binary_ols_cov_", s), f,
      sprintf("lm_robust(y ~ z + %s, data = d, se_type = \"%s\")", covs, s))
}
add("binary_lin_HC2", f, sprintf("lm_lin(y ~ z, covariates = ~ %s, data = d, se_type = \"HC2\")", covs))

# (g) weighted --------------------------------------------------------------
f <- "weighted.csv"
add("weighted_dim", f, "difference_in_means(y ~ z, weights = w, data = d)")
add("weighted_dim_blocks", f, "difference_in_means(y ~ z, blocks = block, weights = w, data = d)")
add("weighted_dim_clusters", f, "difference_in_means(y ~ z, clusters = cluster, weights = w, data = d)")
add("weighted_dim_blocks_clusters", f,
    "difference_in_means(y ~ z, blocks = block, clusters = cluster, weights = w, data = d)")
add("weighted_dim_unweighted_blocks_clusters", f,
    "difference_in_means(y ~ z, blocks = block, clusters = cluster, data = d)")
for (s in hc_types) {
  add(paste0("weighted_ols_", s), f, sprintf("lm_robust(y ~ z, weights = w, data = d, se_type = \"%s\")", s))
  add(paste0("weighted_ols_cov_", s), f,
      sprintf("lm_robust(y ~ z + %s, weights = w, data = d, se_type = \"%s\")", covs, s))
}
for (s in cr_types) {
  add(paste0("weighted_ols_cl_", s), f,
      sprintf("lm_robust(y ~ z, weights = w, clusters = cluster, data = d, se_type = \"%s\")", s))
  add(paste0("weighted_ols_cov_cl_", s), f,
      sprintf("lm_robust(y ~ z + %s, weights = w, clusters = cluster, data = d, se_type = \"%s\")", covs, s))
}
# estimatr 1.0.0 refuses weighted CR2 with fixed_effects; the error is recorded.
add("weighted_fe_cl_CR2", f,
    "lm_robust(y ~ z, fixed_effects = ~ block, weights = w, clusters = cluster, data = d, se_type = \"CR2\")")
add("weighted_fe_cl_stata", f,
    "lm_robust(y ~ z, fixed_effects = ~ block, weights = w, clusters = cluster, data = d, se_type = \"stata\")")
add("weighted_dummies_cl_CR2", f,
    "lm_robust(y ~ z + factor(block), weights = w, clusters = cluster, data = d, se_type = \"CR2\")")
add("weighted_lin_HC2", f,
    sprintf("lm_lin(y ~ z, covariates = ~ %s, weights = w, data = d, se_type = \"HC2\")", covs))
add("weighted_lin_cl_CR2", f,
    sprintf("lm_lin(y ~ z, covariates = ~ %s, weights = w, clusters = cluster, data = d, se_type = \"CR2\")", covs))

# (h) multi-arm -------------------------------------------------------------
f <- "multi_arm.csv"
pairs <- list(c("control", "treatment_a"), c("control", "treatment_b"), c("treatment_a", "treatment_b"))
for (pr in pairs) {
  tag <- paste0(sub("treatment_", "", pr[1]), "_vs_", sub("treatment_", "", pr[2]))
  add(paste0("multi_arm_dim_", tag), f,
      sprintf("difference_in_means(y ~ arm, data = d, condition1 = \"%s\", condition2 = \"%s\")", pr[1], pr[2]))
  add(paste0("multi_arm_dim_blocks_", tag), f,
      sprintf("difference_in_means(y ~ arm, blocks = block, data = d, condition1 = \"%s\", condition2 = \"%s\")",
              pr[1], pr[2]))
}
add("multi_arm_ols_HC2", f, "lm_robust(y ~ arm, data = d, se_type = \"HC2\")")
add("multi_arm_ols_cov_HC2", f, sprintf("lm_robust(y ~ arm + %s, data = d, se_type = \"HC2\")", covs))
add("multi_arm_fe_HC2", f, "lm_robust(y ~ arm, fixed_effects = ~ block, data = d, se_type = \"HC2\")")
add("multi_arm_lin_HC2", f, sprintf("lm_lin(y ~ arm, covariates = ~ %s, data = d, se_type = \"HC2\")", covs))

# (i), (j) matched pairs ----------------------------------------------------
f <- "matched_pairs.csv"
add("matched_pairs_dim", f, "difference_in_means(y ~ z, blocks = block, data = d)")
add("matched_pairs_fe_HC2", f, "lm_robust(y ~ z, fixed_effects = ~ block, data = d, se_type = \"HC2\")")
add("matched_pairs_fe_classical", f,
    "lm_robust(y ~ z, fixed_effects = ~ block, data = d, se_type = \"classical\")")
f <- "matched_cluster_pairs.csv"
add("matched_cluster_pairs_dim", f, "difference_in_means(y ~ z, blocks = block, clusters = cluster, data = d)")
add("matched_cluster_pairs_fe_CR2", f,
    "lm_robust(y ~ z, fixed_effects = ~ block, clusters = cluster, data = d, se_type = \"CR2\")")

# ---------------------------------------------------------------------------
# Run every case and collect tidy rows.
# ---------------------------------------------------------------------------
stopifnot(!anyDuplicated(vapply(cases, `[[`, "", "case")))
datasets <- list()
rows <- list()
for (cs in cases) {
  if (is.null(datasets[[cs$data_file]])) datasets[[cs$data_file]] <- read_data(cs$data_file)
  d <- datasets[[cs$data_file]]
  warns <- character(0)
  err <- NA_character_
  fit <- tryCatch(
    withCallingHandlers(
      eval(parse(text = cs$r_call)),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    error = function(e) {
      err <<- conditionMessage(e)
      NULL
    }
  )
  warning_text <- if (length(warns)) paste(unique(warns), collapse = "; ") else NA_character_
  cat(sprintf("\n=== %s  [%s]\n%s\n", cs$case, cs$data_file, cs$r_call))
  if (length(warns)) cat("warning:", warning_text, "\n")
  if (is.null(fit)) {
    cat("error:", err, "\n")
    rows[[length(rows) + 1]] <- data.frame(
      case = cs$case, data_file = cs$data_file, r_call = cs$r_call, term = NA_character_,
      estimate = "NA", std_error = "NA", statistic = "NA", df = "NA", p_value = "NA",
      conf_low = "NA", conf_high = "NA", n_obs = "NA", design = NA_character_,
      se_type = NA_character_, n_clusters = "NA", n_blocks = "NA",
      warning = warning_text, error = err, stringsAsFactors = FALSE
    )
    next
  }
  td <- tidy(fit)
  is_dim <- inherits(fit, "difference_in_means")
  design <- if (is_dim) fit$design else NA_character_
  se_type <- if (is_dim) NA_character_ else fit$se_type
  nclus <- if (is.null(fit$nclusters)) NA else fit$nclusters
  nblocks <- if (is.null(fit$nblocks)) NA else fit$nblocks
  print(summary(fit))
  rows[[length(rows) + 1]] <- data.frame(
    case = cs$case,
    data_file = cs$data_file,
    r_call = cs$r_call,
    term = td$term,
    estimate = fmt(td$estimate),
    std_error = fmt(td$std.error),
    statistic = fmt(td$statistic),
    df = fmt(td$df),
    p_value = fmt(td$p.value),
    conf_low = fmt(td$conf.low),
    conf_high = fmt(td$conf.high),
    n_obs = fmt(fit$nobs),
    design = design,
    se_type = se_type,
    n_clusters = fmt(nclus),
    n_blocks = fmt(nblocks),
    warning = warning_text,
    error = NA_character_,
    stringsAsFactors = FALSE
  )
}
out <- do.call(rbind, rows)
out_file <- file.path(script_dir, "estimatr_results.csv")
text_cols <- c("case", "data_file", "r_call", "term", "design", "se_type", "warning", "error")
write.csv(out, out_file, row.names = FALSE, na = "NA", quote = which(names(out) %in% text_cols))
cat(sprintf("\nwrote %d rows for %d cases to estimatr_results.csv\n", nrow(out), length(cases)))

cat("\n--- design labels and df reported by difference_in_means ---\n")
dim_rows <- out[!is.na(out$design), c("case", "design", "df", "n_clusters", "n_blocks")]
print(dim_rows, row.names = FALSE)

cat("\n")
print(sessionInfo())
