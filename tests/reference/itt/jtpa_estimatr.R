# The JTPA regressions of MHE Table 4.4.1 / Abadie, Angrist & Imbens (2002)
# with estimatr, HC1 and HC2 standard errors.
#
# Regenerate from the repository root:
#   Rscript tests/reference/itt/jtpa_estimatr.R > tests/reference/itt/jtpa_estimatr.Rout 2>&1
#
# Data: ../shared/data/jtpa.dta relative to the repository (override with the
# environment variable JTPA_DTA). Writes jtpa_estimatr.csv next to this script:
# sample, covariates, quantity, r_call, term (the coefficient reported),
# estimate, std_error, statistic, df, p_value, conf_low, conf_high, n_obs,
# se_type, numbers as sprintf("%.17g"). `r_call` is evaluated with `d` the
# sex subsample: d <- subset(jtpa, sex == 1) for men, sex == 0 for women.
#
# quantity: itt = earnings on jtpa_offer (the ITT), ols = earnings on
# jtpa_training, first_stage = jtpa_training on jtpa_offer, wald_iv = 2SLS of
# earnings on jtpa_training instrumented by jtpa_offer (iv_robust).
# covariates: none, or baseline = hsorged black hispanic married wkless13
# class_tr ojt_jsa age2225 age2629 age3035 age3644 age4554 f2sms, plus afdc
# for women only (as in AAI 2002 and MHE).

suppressPackageStartupMessages({
  library(estimatr)
  library(haven)
})
options(width = 200)

script_dir <- local({
  arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(arg) == 1) dirname(normalizePath(sub("^--file=", "", arg))) else getwd()
})
dta <- Sys.getenv("JTPA_DTA", file.path(script_dir, "..", "..", "..", "..", "shared", "data", "jtpa.dta"))
jtpa <- as.data.frame(zap_labels(read_dta(dta)))
cat("read", normalizePath(dta), ":", nrow(jtpa), "rows\n")
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", as.numeric(x)))

baseline <- c("hsorged", "black", "hispanic", "married", "wkless13", "class_tr", "ojt_jsa",
              "age2225", "age2629", "age3035", "age3644", "age4554", "f2sms")
rows <- list()
for (sample in c("men", "women")) {
  d <- subset(jtpa, sex == if (sample == "men") 1 else 0)
  for (spec in c("none", "baseline")) {
    ctl <- if (spec == "none") character(0) else if (sample == "women") c(baseline, "afdc") else baseline
    rhs_ctl <- if (length(ctl)) paste0(" + ", paste(ctl, collapse = " + ")) else ""
    models <- list(
      itt = c("jtpa_offer", "lm_robust(earnings ~ jtpa_offer%s, data = d, se_type = \"%s\")"),
      ols = c("jtpa_training", "lm_robust(earnings ~ jtpa_training%s, data = d, se_type = \"%s\")"),
      first_stage = c("jtpa_offer", "lm_robust(jtpa_training ~ jtpa_offer%s, data = d, se_type = \"%s\")"),
      wald_iv = c("jtpa_training",
                  "iv_robust(earnings ~ jtpa_training%s | jtpa_offer%s, data = d, se_type = \"%s\")")
    )
    for (quantity in names(models)) {
      for (se in c("HC1", "HC2")) {
        term <- models[[quantity]][1]
        tmpl <- models[[quantity]][2]
        r_call <- if (quantity == "wald_iv") sprintf(tmpl, rhs_ctl, rhs_ctl, se) else sprintf(tmpl, rhs_ctl, se)
        fit <- eval(parse(text = r_call))
        td <- tidy(fit)
        td <- td[td$term == term, ]
        cat(sprintf("%-5s %-8s %-11s %s: %s = %.4f (%.4f), df %s\n", sample, spec, quantity, se,
                    term, td$estimate, td$std.error, format(td$df)))
        rows[[length(rows) + 1]] <- data.frame(
          sample = sample, covariates = spec, quantity = quantity, r_call = r_call, term = term,
          estimate = fmt(td$estimate), std_error = fmt(td$std.error), statistic = fmt(td$statistic),
          df = fmt(td$df), p_value = fmt(td$p.value), conf_low = fmt(td$conf.low),
          conf_high = fmt(td$conf.high), n_obs = fmt(fit$nobs), se_type = fit$se_type,
          stringsAsFactors = FALSE
        )
      }
    }
  }
}
out <- do.call(rbind, rows)
text_cols <- c("sample", "covariates", "quantity", "r_call", "term", "se_type")
write.csv(out, file.path(script_dir, "jtpa_estimatr.csv"), row.names = FALSE,
          quote = which(names(out) %in% text_cols))
cat(sprintf("\nwrote %d rows to jtpa_estimatr.csv\n\n", nrow(out)))
print(sessionInfo())
