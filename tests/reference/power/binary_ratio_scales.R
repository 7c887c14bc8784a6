# Reference values for dwp_eval's binary-outcome power on the odds-ratio and
# risk-ratio scales (issue 15, item 5), and the two-proportion formulas the
# library is compared with. Needs only base R (stats).
# Run from this folder:  Rscript binary_ratio_scales.R > binary_ratio_scales.Rout 2>&1
# Writes binary_ratio_scales.csv, one row per (p0, scale, ratio, alpha, target, method):
#   p1 from the ratio: odds ratio psi -> p1 = psi p0 / (1 - p0 + psi p0);
#                      risk ratio rho -> p1 = rho p0.
#   method "wald_unpooled": the unpooled Wald z test, variance under the
#     alternative p1 q1 / n1 + p0 q0 / n0 (Chow, Shao & Wang 2008, section 4.2),
#     both tails, 1:1; n per arm solved by uniroot to 1e-12; power at n_fixed
#     per arm (dwp_eval's binary_variance="unpooled", method="normal");
#   method "power_prop_test": stats::power.prop.test(p1 = p0, p2 = p1, ...)
#     (pooled variance under the null, unpooled under the alternative; = Fleiss,
#     Levin & Paik 2003, eq. 4.14 without continuity correction), strict = TRUE
#     (both tails), its own tolerance tol = .Machine$double.eps^0.25 replaced by 1e-12;
#   method "fleiss_cc": Fleiss, Levin & Paik (2003), eq. 4.14 closed form then the
#     continuity correction of eq. 4.15 (Fleiss, Tytun & Ury 1980):
#     n' = n / 4 * (1 + sqrt(1 + 4 / (n |p1 - p0|)))^2;
#   method "cohen_h": Cohen's (1988) arcsine effect size h = 2 asin(sqrt(p1)) -
#     2 asin(sqrt(p0)), power = Phi(|h| sqrt(n/2) - z) + Phi(-|h| sqrt(n/2) - z),
#     the formula of pwr::pwr.2p.test (Champely; pwr is not installed here, so it
#     is written out), n solved by uniroot to 1e-12.
# Columns: p0, scale, ratio, p1, alpha, target, method, n_per_arm, n_fixed, power_at_n_fixed.
options(digits = 15)
cat("R", R.version$major, R.version$minor, "\n")
TOL <- 1e-12
N_FIXED <- 1000
rate <- function(p0, scale, ratio) if (scale == "odds_ratio") ratio * p0 / (1 - p0 + ratio * p0) else ratio * p0
wald_power <- function(p0, p1, n, alpha) {
  z <- qnorm(1 - alpha / 2)
  lam <- abs(p1 - p0) / sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / n)
  pnorm(lam - z) + pnorm(-lam - z)
}
h_power <- function(p0, p1, n, alpha) {
  z <- qnorm(1 - alpha / 2)
  h <- abs(2 * asin(sqrt(p1)) - 2 * asin(sqrt(p0)))
  pnorm(h * sqrt(n / 2) - z) + pnorm(-h * sqrt(n / 2) - z)
}
solve_n <- function(fpow, p0, p1, alpha, target) {
  uniroot(function(n) fpow(p0, p1, n, alpha) - target, c(2, 1e9), tol = TOL)$root
}
rows <- list()
add <- function(...) rows[[length(rows) + 1]] <<- data.frame(...)
grid <- list(
  list("odds_ratio", c(1.25, 1.5, 2, 0.8, 0.6)),
  list("risk_ratio", c(1.2, 1.5, 0.8, 0.6)))
for (alpha in c(0.05, 0.01)) for (target in c(0.8, 0.9)) for (p0 in c(0.1, 0.2, 0.35, 0.5)) {
  for (g in grid) for (ratio in g[[2]]) {
    scale <- g[[1]]; p1 <- rate(p0, scale, ratio)
    if (p1 <= 0 || p1 >= 1) next
    z <- qnorm(1 - alpha / 2); zb <- qnorm(target); d <- abs(p1 - p0)
    add(p0 = p0, scale = scale, ratio = ratio, p1 = p1, alpha = alpha, target = target,
        method = "wald_unpooled", n_per_arm = solve_n(wald_power, p0, p1, alpha, target),
        n_fixed = N_FIXED, power_at_n_fixed = wald_power(p0, p1, N_FIXED, alpha))
    ppt_n <- power.prop.test(p1 = p0, p2 = p1, sig.level = alpha, power = target,
                             strict = TRUE, tol = TOL)$n
    ppt_p <- power.prop.test(n = N_FIXED, p1 = p0, p2 = p1, sig.level = alpha, strict = TRUE)$power
    add(p0 = p0, scale = scale, ratio = ratio, p1 = p1, alpha = alpha, target = target,
        method = "power_prop_test", n_per_arm = ppt_n, n_fixed = N_FIXED, power_at_n_fixed = ppt_p)
    pbar <- (p0 + p1) / 2
    n_f <- (z * sqrt(2 * pbar * (1 - pbar)) + zb * sqrt(p0 * (1 - p0) + p1 * (1 - p1)))^2 / d^2
    n_cc <- n_f / 4 * (1 + sqrt(1 + 4 / (n_f * d)))^2
    add(p0 = p0, scale = scale, ratio = ratio, p1 = p1, alpha = alpha, target = target,
        method = "fleiss_cc", n_per_arm = n_cc, n_fixed = NA, power_at_n_fixed = NA)
    add(p0 = p0, scale = scale, ratio = ratio, p1 = p1, alpha = alpha, target = target,
        method = "cohen_h", n_per_arm = solve_n(h_power, p0, p1, alpha, target),
        n_fixed = N_FIXED, power_at_n_fixed = h_power(p0, p1, N_FIXED, alpha))
  }
}
# the issue's case: 20% -> 24% (a difference of 4 points; odds ratio 1.263..., risk ratio 1.2)
cat("\nIssue case 0.20 -> 0.24, alpha 0.05 two-sided, power 0.8, n per arm:\n")
p0 <- 0.2; p1 <- 0.24
cat("wald_unpooled  ", solve_n(wald_power, p0, p1, 0.05, 0.8), "\n")
print(power.prop.test(p1 = p0, p2 = p1, power = 0.8))
cat("power.prop.test strict ", power.prop.test(p1 = p0, p2 = p1, power = 0.8, strict = TRUE, tol = TOL)$n, "\n")
pbar <- (p0 + p1) / 2; d <- p1 - p0; z <- qnorm(0.975); zb <- qnorm(0.8)
n_f <- (z * sqrt(2 * pbar * (1 - pbar)) + zb * sqrt(p0 * (1 - p0) + p1 * (1 - p1)))^2 / d^2
cat("fleiss closed  ", n_f, "\n")
cat("fleiss cc      ", n_f / 4 * (1 + sqrt(1 + 4 / (n_f * d)))^2, "\n")
cat("cohen h (pwr.2p.test formula)", solve_n(h_power, p0, p1, 0.05, 0.8), "\n")
cat("baseline variance 2 p0 q0 (z+zb)^2/d^2 (one tail)", 2 * p0 * (1 - p0) * (z + zb)^2 / d^2, "\n")
out <- do.call(rbind, rows)
write.csv(out, "binary_ratio_scales.csv", row.names = FALSE)
cat("\nrows written:", nrow(out), "\n")
