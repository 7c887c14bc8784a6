# Reference values for dwp_eval's time-to-event power (log-rank test), written
# out in base R (R 4.2.2, `stats` only; gsDesign and powerSurvEpi are not Debian
# packages and are not used):
#   Rscript log_rank.R > log_rank.Rout 2>&1
# Writes log_rank.csv. For each design:
#   events_*   events needed: Schoenfeld (1983, Biometrics 39:499, eq. 1)
#              D = (z_a + z_b)^2 (1 + k)^2 / (k log(psi)^2), k = n_T / n_C;
#              Freedman (1982, Stat Med 1:121) D = (z_a + z_b)^2 (1 + k psi)^2 / (k (1 - psi)^2)
#   p_c, p_t   P(event) in each arm, exponential hazard log(2)/median (times psi
#              in treatment), uniform accrual over `accrual`, then `follow_up`:
#              by `integrate` over entry times (a check of the closed form the
#              library uses) and by Schoenfeld's (1983) Simpson's rule
#              1 - (S(f) + 4 S(f + a/2) + S(f + a)) / 6 (reported, not matched)
#   n_*        people needed = D x DE / P_bar, P_bar = (k p_t + p_c) / (1 + k),
#              DE = 1 + (m - 1) icc (1 without clusters); clusters = n / m
#   power_*    power with n_given people: Phi(sqrt(k D) |log psi| / (1 + k) - z), the
#              tail of the effect only as in Schoenfeld's and Freedman's formulas,
#              D = n_given P_bar / DE; Freedman with |1 - psi| / (1 + k psi)
options(digits = 15)
pev <- function(lambda, a, f) {
  if (a == 0) return(1 - exp(-lambda * f))
  1 - integrate(function(u) exp(-lambda * (a + f - u)), 0, a, rel.tol = 1e-13, abs.tol = 0)$value / a
}
simpson <- function(lambda, a, f) {
  S <- function(t) exp(-lambda * t)
  1 - (S(f) + 4 * S(f + a / 2) + S(f + a)) / 6
}
rows <- list()
for (alpha in c(0.05, 0.01)) for (two in c(TRUE, FALSE)) for (pw in c(0.8, 0.9))
for (psi in c(0.6, 0.8, 1.25, 1.5)) for (ratio in c(0.5, 2 / 3)) for (des in list(c(180, 0, 365, 1, 0), c(200, 180, 365, 1, 0), c(90, 365, 90, 1, 0), c(200, 180, 365, 20, 0.05))) {
  med <- des[1]; a <- des[2]; f <- des[3]; m <- des[4]; icc <- des[5]
  za <- qnorm(1 - ifelse(two, alpha / 2, alpha)); zb <- qnorm(pw)
  k <- ratio / (1 - ratio)
  ds <- (za + zb)^2 * (1 + k)^2 / (k * log(psi)^2)
  df <- (za + zb)^2 * (1 + k * psi)^2 / (k * (1 - psi)^2)
  lam <- log(2) / med
  pc <- pev(lam, a, f); pt <- pev(lam * psi, a, f)
  pbar <- (k * pt + pc) / (1 + k)
  de <- 1 + (m - 1) * icc
  n_given <- 1200 * m
  pow <- function(stat) pnorm(stat - za)
  dg <- n_given * pbar / de
  rows[[length(rows) + 1]] <- data.frame(
    alpha = alpha, two_sided = two, power = pw, hazard_ratio = psi, ratio = ratio,
    control_median = med, accrual = a, follow_up = f, cluster_size = m, icc = icc,
    p_control = pc, p_treatment = pt, p_control_simpson = simpson(lam, a, f),
    p_treatment_simpson = simpson(lam * psi, a, f),
    events_schoenfeld = ds, events_freedman = df,
    n_schoenfeld = ds * de / pbar, n_freedman = df * de / pbar,
    n_given = n_given,
    power_schoenfeld = pow(sqrt(k * dg) * abs(log(psi)) / (1 + k)),
    power_freedman = pow(sqrt(k * dg) * abs(1 - psi) / (1 + k * psi)))
}
out <- do.call(rbind, rows)
write.csv(out, "log_rank.csv", row.names = FALSE)
cat(nrow(out), "rows written to log_rank.csv\n")
cat("largest |Simpson - exact| event probability:",
    max(abs(c(out$p_control_simpson - out$p_control, out$p_treatment_simpson - out$p_treatment))), "\n")
# Phadnis, Wetmore & Mayo (2017), Stat Med 36:4121, Table 3, "PH assumption" column:
# events for 80% power, one-sided alpha 0.05, 1:1, rounded up to an even number
psi <- c(0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4)
d <- 4 * (qnorm(0.95) + qnorm(0.8))^2 / log(psi)^2
print(data.frame(psi = psi, events = d, even = 2 * ceiling(d / 2)))
print(sessionInfo())
