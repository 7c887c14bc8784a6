# Reference values for dwp_eval's Rubin's rules (dwp_eval._core.pooling.rubin_pool,
# MultipleImputation.fit): R mice::pool on the SAME completed datasets.
#
# Regenerate from the repository root:
#   Rscript tests/reference/mi/mice_pool.R > tests/reference/mi/mice_pool.Rout 2>&1
#
# The script draws a trial with outcomes missing at random given the arm and a
# covariate, imputes with mice (pmm for y, logreg for employed; treat, x, z as
# predictors; m = 20), and writes next to itself (numbers as sprintf("%.17g")):
#
# data.csv        the trial with its missing values (id, arm, treat, x, z, y, employed)
# completed.csv   complete(imp, "long"): .imp (1..m), .id and the completed columns
# per_imputation.csv  case, imputation, estimate, std_error, df of each analysis on
#                 each completed dataset
# pooled.csv      case, m, estimate (qbar), ubar, b, t, dfcom, df, riv, lambda, fmi,
#                 std_error (sqrt(t)) from mice::pool (rule "rubin1987"; Barnard-Rubin df)
#
# Cases (the analysis run on each completed dataset, then pooled by mice::pool):
#   lm_classical  lm(y ~ treat + x + z); pool() takes dfcom = df.residual = n - 4
#   lin_hc2       estimatr::lm_lin(y ~ treat, covariates = ~ x + z, se_type = "HC2")
#   dim_y         estimatr::difference_in_means(y ~ treat): Welch df; dfcom = the
#                 smallest df over the imputations (as dwp_eval)
#   dim_employed  estimatr::difference_in_means(employed ~ treat), likewise
#   lm_hc2_employed  estimatr::lm_robust(employed ~ treat + x, se_type = "HC2"), dfcom = n - 3

suppressPackageStartupMessages({
  library(mice)
  library(estimatr)
})

here <- "tests/reference/mi"
fmt <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))
write_num <- function(frame, file) {
  out <- frame
  for (col in names(out)) if (is.numeric(out[[col]])) out[[col]] <- fmt(out[[col]])
  write.csv(out, file.path(here, file), row.names = FALSE, quote = FALSE)
}

set.seed(20261206)
n <- 400
treat <- rep(c(0L, 1L), each = n / 2)
arm <- ifelse(treat == 1L, "treatment", "control")
x <- round(rnorm(n), 6)
z <- rbinom(n, 1, 0.4)
y <- round(1 + 0.5 * treat + x + 0.5 * z + rnorm(n), 6)
employed <- as.integer(y + rnorm(n) > 1.5)
observed <- runif(n) < plogis(1 + 0.8 * x - 0.7 * treat)
y[!observed] <- NA
employed[!observed & runif(n) < 0.8] <- NA
d <- data.frame(id = seq_len(n), arm, treat, x, z, y, employed)
cat("missing y:", sum(is.na(d$y)), " missing employed:", sum(is.na(d$employed)), "\n")
write_num(d, "data.csv")

meth <- make.method(d)
meth[] <- ""
meth["y"] <- "pmm"
meth["employed"] <- "logreg"
pred <- make.predictorMatrix(d)
pred[, ] <- 0
pred["y", c("treat", "x", "z", "employed")] <- 1
pred["employed", c("treat", "x", "z", "y")] <- 1
d_imp <- d
d_imp$employed <- factor(d_imp$employed)
imp <- mice(d_imp, m = 20, method = meth, predictorMatrix = pred, maxit = 10,
            seed = 20261207, printFlag = FALSE)
long <- complete(imp, "long")
long$employed <- as.integer(as.character(long$employed))
write_num(long[, c(".imp", ".id", "id", "arm", "treat", "x", "z", "y", "employed")],
          "completed.csv")
sets <- lapply(seq_len(imp$m), function(i) {
  s <- complete(imp, i)
  s$employed <- as.integer(as.character(s$employed))
  s
})

cases <- list(
  lm_classical = list(fit = function(s) lm(y ~ treat + x + z, data = s), term = "treat",
                      dfcom = NULL),
  lin_hc2 = list(fit = function(s) lm_lin(y ~ treat, covariates = ~ x + z, data = s,
                                          se_type = "HC2"), term = "treat", dfcom = "n-p"),
  dim_y = list(fit = function(s) difference_in_means(y ~ treat, data = s), term = "treat",
               dfcom = "min"),
  dim_employed = list(fit = function(s) difference_in_means(employed ~ treat, data = s),
                      term = "treat", dfcom = "min"),
  lm_hc2_employed = list(fit = function(s) lm_robust(employed ~ treat + x, data = s,
                                                     se_type = "HC2"),
                         term = "treat", dfcom = "n-p")
)

per <- list()
pooled <- list()
for (name in names(cases)) {
  cs <- cases[[name]]
  fits <- lapply(sets, cs$fit)
  get <- function(f) {
    if (inherits(f, "lm") && !inherits(f, "lm_robust")) {
      co <- summary(f)$coefficients
      c(co[cs$term, "Estimate"], co[cs$term, "Std. Error"], f$df.residual)
    } else {
      c(unname(f$coefficients[cs$term]), unname(f$std.error[cs$term]), unname(f$df[cs$term]))
    }
  }
  vals <- t(sapply(fits, get))
  per[[name]] <- data.frame(case = name, imputation = seq_along(fits), estimate = vals[, 1],
                            std_error = vals[, 2], df = vals[, 3])
  dfcom <- if (is.null(cs$dfcom)) NULL else if (cs$dfcom == "min") min(vals[, 3]) else
    unname(fits[[1]]$df.residual)
  if (is.null(dfcom)) {
    p <- pool(as.mira(fits))
  } else {
    p <- pool(as.mira(fits), dfcom = dfcom)
  }
  row <- p$pooled[p$pooled$term == cs$term, ]
  print(name)
  print(row)
  pooled[[name]] <- data.frame(case = name, m = row$m, estimate = row$estimate, ubar = row$ubar,
                               b = row$b, t = row$t, dfcom = row$dfcom, df = row$df,
                               riv = row$riv, lambda = row$lambda, fmi = row$fmi,
                               std_error = sqrt(row$t))
}
write_num(do.call(rbind, per), "per_imputation.csv")
write_num(do.call(rbind, pooled), "pooled.csv")
print(sessionInfo())
