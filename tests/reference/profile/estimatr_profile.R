# Reference values for dwp_eval.impact_profile, month by month, computed from the raw
# records independently of dwp_eval: month k = k-th calendar month after the month of
# randomisation; employed = a record with earnings > 0 that month; earnings = its pay.
# estimatr 1.0.0: lm_robust(y ~ z, se_type = "HC2") and difference_in_means(y ~ z)
# (Welch df) and difference_in_means(y ~ z, blocks = stratum); sandwich 3.0-2:
# vcovHC(lm(cbind(y_1, ..., y_K) ~ z), type = "HC2") for the joint covariance.
suppressMessages({library(estimatr); library(sandwich)})
people <- read.csv("data/people.csv")
emp <- read.csv("data/employment.csv")
K <- 9
mon <- function(s) { d <- as.integer(substr(s, 1, 4)) * 12L + as.integer(substr(s, 6, 7)) - 1L; d }
people$first <- mon(people$randomised_on)
emp$m <- mon(emp$month)
people$z <- as.integer(people$arm == "treatment")
key <- paste(emp$id, emp$m)
Y <- list(employed = matrix(0, nrow(people), K), earnings = matrix(0, nrow(people), K))
for (k in 1:K) {
  idx <- match(paste(people$id, people$first + k), key)
  pay <- ifelse(is.na(idx), 0, emp$earnings[idx])
  Y$earnings[, k] <- pay
  Y$employed[, k] <- as.numeric(pay > 0)
}
res <- data.frame()
for (meas in names(Y)) for (k in 1:K) {
  d <- data.frame(y = Y[[meas]][, k], z = people$z, stratum = people$stratum)
  a <- lm_robust(y ~ z, data = d, se_type = "HC2")
  b <- difference_in_means(y ~ z, data = d)
  cc <- difference_in_means(y ~ z, data = d, blocks = stratum)
  res <- rbind(res, data.frame(measure = meas, month = k,
    lm_estimate = unname(coef(a)["z"]), lm_std_error = a$std.error[["z"]], lm_df = a$df[["z"]],
    dim_estimate = b$coefficients[[1]], dim_std_error = b$std.error[[1]], dim_df = b$df[[1]],
    blocked_estimate = cc$coefficients[[1]], blocked_std_error = cc$std.error[[1]],
    blocked_df = cc$df[[1]]))
}
write.csv(format(res, digits = 17), "estimatr_profile.csv", row.names = FALSE, quote = FALSE)
print(res, digits = 10)
for (meas in names(Y)) {
  fit <- lm(Y[[meas]] ~ z, data = people)
  V <- vcovHC(fit, type = "HC2")
  zz <- grep(":z$", rownames(V))
  Vz <- V[zz, zz]
  write.csv(format(as.data.frame(unname(Vz)), digits = 17), sprintf("sandwich_vcov_%s.csv", meas),
            row.names = FALSE, quote = FALSE)
  cat(meas, "joint HC2 covariance of the monthly effects (diagonal):\n")
  print(diag(Vz), digits = 10)
}
print(sessionInfo()$otherPkgs$estimatr$Version); print(sessionInfo()$otherPkgs$sandwich$Version)

# ---- Lin-adjusted profile (covariates age and benefit; benefit dummies esa, uc, with jsa
# as the base level; centred and interacted with z):
# lm_lin(y ~ z, covariates = ~ age + benefit, se_type = "HC2") without strata, and
# lm_robust on the same centred design with fixed_effects = ~ stratum with strata;
# the joint covariance from sandwich::vcovHC(type = "HC2") of the multivariate Lin
# regression without strata.
people$benefit <- factor(people$benefit)
D <- model.matrix(~ age + benefit, data = people)[, -1]
Dc <- scale(D, center = TRUE, scale = FALSE)
colnames(Dc) <- c("age_c", paste0(levels(people$benefit)[-1], "_c"))
lin <- data.frame()
for (meas in names(Y)) for (k in 1:K) {
  d <- data.frame(y = Y[[meas]][, k], z = people$z, stratum = people$stratum,
                  age = people$age, benefit = people$benefit, Dc)
  a <- lm_lin(y ~ z, covariates = ~ age + benefit, data = d, se_type = "HC2")
  f <- as.formula(paste("y ~ z +", paste(colnames(Dc), collapse = " + "), "+",
                        paste0("z:", colnames(Dc), collapse = " + ")))
  b <- lm_robust(f, data = d, fixed_effects = ~ stratum, se_type = "HC2")
  lin <- rbind(lin, data.frame(measure = meas, month = k,
    lin_estimate = unname(coef(a)["z"]), lin_std_error = a$std.error[["z"]], lin_df = a$df[["z"]],
    fe_estimate = unname(coef(b)["z"]), fe_std_error = b$std.error[["z"]], fe_df = b$df[["z"]]))
}
write.csv(format(lin, digits = 17), "estimatr_profile_lin.csv", row.names = FALSE, quote = FALSE)
print(lin, digits = 10)
for (meas in names(Y)) {
  Z <- people$z
  fit <- lm(Y[[meas]] ~ Z * Dc)
  V <- vcovHC(fit, type = "HC2")
  zz <- grep(":Z$", rownames(V))
  write.csv(format(as.data.frame(unname(V[zz, zz])), digits = 17),
            sprintf("sandwich_vcov_lin_%s.csv", meas), row.names = FALSE, quote = FALSE)
  cat(meas, "joint HC2 covariance of the Lin-adjusted monthly effects (diagonal):\n")
  print(diag(V[zz, zz]), digits = 10)
}
