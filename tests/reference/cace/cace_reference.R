# Reference values for dwp_eval's CACE (2SLS) estimator: estimatr::iv_robust,
# AER::ivreg + sandwich, clubSandwich on ivreg, and an Anderson-Rubin set
# computed from estimatr fits, on the datasets in data/.
#
# Regenerate from the repository root:
#   Rscript tests/reference/cace/cace_reference.R > tests/reference/cace/cace_reference.Rout 2>&1
#
# Writes next to this script (numbers as sprintf("%.17g"); NA missing):
#
# estimatr_results.csv  one row per case: the coefficient of `d` from
#   iv_robust (quantity = "cace"), of `z` from lm_robust of d on z (quantity
#   = "first_stage") and of y on z (quantity = "itt"), with the same
#   covariates, fixed effects, clusters and se_type; for "cace" rows without
#   fixed effects, the first-stage F of iv_robust(diagnostics = TRUE)
#   (fstat, fstat_dendf).
# aer_results.csv  AER::ivreg with sandwich::vcovHC (HC0-HC3), vcov()
#   (classical) and sandwich::vcovCL (CR0 "HC0", and "HC1" = Stata's CR1),
#   and clubSandwich::vcovCR(type = "CR2") with coef_test Satterthwaite df.
# ar_results.csv  the Anderson-Rubin set: the quadratic (gy - b gd)^2 <=
#   q^2 (vyy - 2 b vyd + b^2 vdd) with the joint covariance of the reduced
#   form and first stage from a multivariate lm_robust(cbind(y, d) ~ z + ...)
#   (strata as factor(block) dummies: multivariate lm_robust refuses
#   fixed_effects) and q the t quantile on the reduced form's df; its end points, and as a
#   check the squared t statistic of lm_robust(I(y - b d) ~ z + ...) at each
#   end point (must equal q^2).
#
# `r_call` is evaluated with d <- read.csv(file.path("data", data_file)).

suppressPackageStartupMessages({
  library(estimatr)
  library(AER)
  library(sandwich)
  library(clubSandwich)
})
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
setwd(script_dir)
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))
read_data <- function(f) read.csv(file.path("data", f), stringsAsFactors = FALSE)

covs <- "x1 + x2 + xb + region"
cases <- list()
add <- function(name, file, cov, fe, cl, se) {
  cases[[length(cases) + 1]] <<- list(name = name, file = file, cov = cov, fe = fe, cl = cl, se = se)
}
for (f in c("one_sided", "two_sided", "weak", "very_weak")) {
  for (cov in c(FALSE, TRUE)) {
    for (se in c("HC0", "HC1", "HC2", "HC3", "classical")) {
      add(sprintf("%s%s_%s", f, if (cov) "_cov" else "", se), paste0(f, ".csv"), cov, FALSE, FALSE, se)
    }
  }
}
for (cov in c(FALSE, TRUE)) {
  for (se in c("HC0", "HC1", "HC2", "HC3", "classical")) {
    add(sprintf("two_sided_fe%s_%s", if (cov) "_cov" else "", se), "two_sided.csv", cov, TRUE, FALSE, se)
  }
}
for (fe in c(FALSE, TRUE)) {
  for (cov in c(FALSE, TRUE)) {
    for (se in c("CR0", "stata", "CR2")) {
      add(sprintf("clustered%s%s_%s", if (fe) "_fe" else "", if (cov) "_cov" else "", se),
          "clustered.csv", cov, fe, TRUE, se)
    }
  }
}

extra_args <- function(cs) {
  paste0(
    if (cs$fe) ", fixed_effects = ~block" else "",
    if (cs$cl) ", clusters = cluster" else "",
    sprintf(", se_type = \"%s\"", cs$se)
  )
}

est_rows <- list()
ar_rows <- list()
for (cs in cases) {
  d <- read_data(cs$file)
  rhs <- if (cs$cov) paste0(" + ", covs) else ""
  ex <- extra_args(cs)
  diag <- !cs$fe
  calls <- list(
    cace = sprintf("iv_robust(y ~ d%s | z%s, data = d%s%s)", rhs, rhs, ex,
                   if (diag) ", diagnostics = TRUE" else ""),
    first_stage = sprintf("lm_robust(d ~ z%s, data = d%s)", rhs, ex),
    itt = sprintf("lm_robust(y ~ z%s, data = d%s)", rhs, ex)
  )
  for (q in names(calls)) {
    fit <- eval(parse(text = calls[[q]]))
    term <- if (q == "cace") "d" else "z"
    td <- tidy(fit)
    td <- td[td$term == term, ]
    fstat <- NA
    fden <- NA
    if (q == "cace" && diag) {
      fs <- fit$diagnostic_first_stage_fstatistic
      fstat <- fs[["value"]]
      fden <- fs[["dendf"]]
    }
    cat(sprintf("%-28s %-11s %s = %.6f (%.6f), df %.4f%s\n", cs$name, q, term, td$estimate,
                td$std.error, td$df, if (!is.na(fstat)) sprintf(", F %.4f", fstat) else ""))
    est_rows[[length(est_rows) + 1]] <- data.frame(
      case = cs$name, data_file = cs$file, quantity = q, r_call = calls[[q]], term = term,
      estimate = fmt(td$estimate), std_error = fmt(td$std.error), statistic = fmt(td$statistic),
      df = fmt(td$df), p_value = fmt(td$p.value), conf_low = fmt(td$conf.low),
      conf_high = fmt(td$conf.high), n_obs = fmt(fit$nobs), se_type = fit$se_type,
      covariates = cs$cov, fixed_effects = cs$fe, clustered = cs$cl,
      n_clusters = fmt(if (is.null(fit$nclusters)) NA else fit$nclusters),
      fstat = fmt(fstat), fstat_dendf = fmt(fden), stringsAsFactors = FALSE
    )
  }

  # Anderson-Rubin set from the joint covariance of (reduced form, first stage)
  # (multivariate lm_robust does not take fixed_effects: block dummies give the same fit)
  mv_call <- if (cs$fe) {
    sprintf("lm_robust(cbind(y, d) ~ z%s + factor(block), data = d%s)", rhs,
            sub(", fixed_effects = ~block", "", ex, fixed = TRUE))
  } else {
    sprintf("lm_robust(cbind(y, d) ~ z%s, data = d%s)", rhs, ex)
  }
  mv <- eval(parse(text = mv_call))
  V <- vcov(mv)
  gy <- coef(mv)["z", "y"]
  gd <- coef(mv)["z", "d"]
  vyy <- V["y:z", "y:z"]
  vdd <- V["d:z", "d:z"]
  vyd <- V["y:z", "d:z"]
  rf_df <- tidy(mv)
  rf_df <- rf_df[rf_df$term == "z" & rf_df$outcome == "y", "df"]
  q2 <- qt(0.975, rf_df)^2
  A <- gd^2 - q2 * vdd
  B <- gy * gd - q2 * vyd
  C <- gy^2 - q2 * vyy
  disc <- B^2 - A * C
  if (A > 0) {
    kind <- "bounded"
    ends <- sort(c((B - sqrt(disc)) / A, (B + sqrt(disc)) / A))
  } else if (disc > 0) {
    kind <- "two rays"
    ends <- sort(c((B - sqrt(disc)) / A, (B + sqrt(disc)) / A))
  } else {
    kind <- "whole line"
    ends <- c(NA, NA)
  }
  t2_at <- function(b) {
    d$y_b <- d$y - b * d$d
    f <- eval(parse(text = sprintf("lm_robust(y_b ~ z%s, data = d%s)", rhs, ex)))
    unname(f$statistic["z"])^2
  }
  checks <- if (kind == "whole line") c(NA, NA) else vapply(ends, t2_at, numeric(1))
  cat(sprintf("%-28s AR %-10s ends %s; t^2 at ends %s (q^2 = %.10f)\n", cs$name, kind,
              paste(format(ends, digits = 10), collapse = ", "),
              paste(format(checks, digits = 12), collapse = ", "), q2))
  ar_rows[[length(ar_rows) + 1]] <- data.frame(
    case = cs$name, data_file = cs$file, r_call = mv_call, kind = kind,
    end1 = fmt(ends[1]), end2 = fmt(ends[2]), gy = fmt(gy), gd = fmt(gd), vyy = fmt(vyy),
    vyd = fmt(vyd), vdd = fmt(vdd), df = fmt(rf_df), q2 = fmt(q2), t2_end1 = fmt(checks[1]),
    t2_end2 = fmt(checks[2]), stringsAsFactors = FALSE
  )
}

# AER::ivreg with sandwich and clubSandwich
aer_rows <- list()
aer_add <- function(case, file, r_call, type, est, se, df) {
  cat(sprintf("%-28s %-10s d = %.6f (%.6f), df %s\n", case, type, est, se, format(df)))
  aer_rows[[length(aer_rows) + 1]] <<- data.frame(
    case = case, data_file = file, r_call = r_call, vcov_type = type, term = "d",
    estimate = fmt(est), std_error = fmt(se), df = fmt(df), stringsAsFactors = FALSE
  )
}
for (f in c("one_sided", "two_sided", "weak")) {
  for (cov in c(FALSE, TRUE)) {
    d <- read_data(paste0(f, ".csv"))
    rhs <- if (cov) paste0(" + ", covs) else ""
    r_call <- sprintf("ivreg(y ~ d%s | z%s, data = d)", rhs, rhs)
    m <- eval(parse(text = r_call))
    case <- sprintf("%s%s", f, if (cov) "_cov" else "")
    for (type in c("HC0", "HC1", "HC2", "HC3")) {
      aer_add(case, paste0(f, ".csv"), r_call, type, coef(m)["d"], sqrt(vcovHC(m, type = type)["d", "d"]),
              m$df.residual)
    }
    aer_add(case, paste0(f, ".csv"), r_call, "classical", coef(m)["d"], sqrt(vcov(m)["d", "d"]),
            m$df.residual)
  }
}
d <- read_data("clustered.csv")
for (cov in c(FALSE, TRUE)) {
  for (fe in c(FALSE, TRUE)) {
    rhs <- paste0(if (cov) paste0(" + ", covs) else "", if (fe) " + factor(block)" else "")
    r_call <- sprintf("ivreg(y ~ d%s | z%s, data = d)", rhs, rhs)
    m <- eval(parse(text = r_call))
    case <- sprintf("clustered%s%s", if (fe) "_fe" else "", if (cov) "_cov" else "")
    G <- length(unique(d$cluster))
    aer_add(case, "clustered.csv", r_call, "CR0",
            coef(m)["d"], sqrt(vcovCL(m, cluster = d$cluster, type = "HC0", cadjust = FALSE)["d", "d"]), G - 1)
    aer_add(case, "clustered.csv", r_call, "CR1",
            coef(m)["d"], sqrt(vcovCL(m, cluster = d$cluster, type = "HC1")["d", "d"]), G - 1)
    V2 <- vcovCR(m, cluster = d$cluster, type = "CR2")
    ct <- coef_test(m, vcov = V2, test = "Satterthwaite")
    i <- which(ct$Coef == "d")
    aer_add(case, "clustered.csv", r_call, "CR2 (clubSandwich)", ct$beta[i], ct$SE[i], ct$df_Satt[i])
  }
}

text_cols <- function(x, cols) which(names(x) %in% cols)
est <- do.call(rbind, est_rows)
write.csv(est, "estimatr_results.csv", row.names = FALSE,
          quote = text_cols(est, c("case", "data_file", "quantity", "r_call", "term", "se_type")))
ar <- do.call(rbind, ar_rows)
write.csv(ar, "ar_results.csv", row.names = FALSE,
          quote = text_cols(ar, c("case", "data_file", "r_call", "kind")))
aer <- do.call(rbind, aer_rows)
write.csv(aer, "aer_results.csv", row.names = FALSE,
          quote = text_cols(aer, c("case", "data_file", "r_call", "vcov_type", "term")))
cat(sprintf("\nwrote %d rows to estimatr_results.csv, %d to ar_results.csv, %d to aer_results.csv\n\n",
            nrow(est), nrow(ar), nrow(aer)))
print(sessionInfo())
