# Reference values for dwp_eval's binary-outcome power (issue 13): two
# proportions, p0 in control and p1 = p0 + delta in treatment.
# Run from this folder:  Rscript pwr_two_proportions.R > pwr_two_proportions.Rout 2>&1
# Writes pwr_two_proportions.csv, one row per (design, method, quantity):
#   method "wald_unpooled": the unpooled Wald z test, variance under the
#     alternative p1(1-p1)/n1 + p0(1-p0)/n0 (Chow, Shao & Wang 2008, Sample Size
#     Calculations in Clinical Research, 2nd ed., section 4.2), power with both
#     tails, n and delta solved by uniroot to 1e-12 (dwp_eval's
#     binary_variance="unpooled", method="normal": the same formula);
#   method "wald_unpooled_closed": its textbook closed form (one tail),
#     n1 = (z_{1-a/2} + z_{power})^2 (p1 q1 + p0 q0 r1/r0) / delta^2;
#   method "fleiss_chi2": Fleiss, Levin & Paik (2003), Statistical Methods for
#     Rates and Proportions, 3rd ed., section 4.2, eq. 4.14 without continuity
#     correction = Stata [PSS] power twoproportions, test(chi2), Methods and
#     formulas: pooled variance under the null, sigma_0^2 = pbar qbar (1/n1 + 1/n0)
#     with pbar = (n1 p1 + n0 p0) / (n1 + n0), unpooled under the alternative,
#     power = Phi((|d| - z sigma_0) / sigma_1) + Phi((-|d| - z sigma_0) / sigma_1),
#     n solved by uniroot to 1e-12;
#   method "fleiss_closed": Fleiss's closed form for n (one tail, eq. 4.14);
#   method "pwr_h": R pwr (Champely), pwr.2p.test / pwr.2p2n.test with Cohen's
#     h = ES.h(p1, p0) (arcsine scale); pwr's own uniroot tolerance.
# Columns: p0, p1, delta, alpha, target (power), share (fraction treated),
#   method, quantity ("n_total": people in both arms; "power": at n_treated,
#   n_control; "delta": the MDE at n_treated, n_control), n_treated, n_control, value.
suppressPackageStartupMessages(library(pwr))
options(digits = 15)
cat("R", R.version$major, R.version$minor, "pwr", as.character(packageVersion("pwr")), "\n")
TOL <- 1e-12
rows <- list()
add <- function(p0, p1, alpha, target, share, method, quantity, n1, n0, value) {
  rows[[length(rows) + 1]] <<- data.frame(
    p0 = p0, p1 = p1, delta = p1 - p0, alpha = alpha, target = target, share = share,
    method = method, quantity = quantity, n_treated = n1, n_control = n0, value = value)
}
wald_power <- function(p0, p1, n1, n0, alpha) {
  z <- qnorm(1 - alpha / 2)
  lam <- abs(p1 - p0) / sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
  pnorm(lam - z) + pnorm(-lam - z)
}
fleiss_power <- function(p0, p1, n1, n0, alpha) {
  z <- qnorm(1 - alpha / 2)
  pbar <- (n1 * p1 + n0 * p0) / (n1 + n0)
  s0 <- sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
  s1 <- sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
  d <- abs(p1 - p0)
  pnorm((d - z * s0) / s1) + pnorm((-d - z * s0) / s1)
}
solve_total <- function(fpow, p0, p1, share, alpha, target) {
  f <- function(n) fpow(p0, p1, share * n, (1 - share) * n, alpha) - target
  uniroot(f, c(4, 1e9), tol = TOL)$root
}
for (alpha in c(0.05, 0.01)) for (target in c(0.8, 0.9)) for (share in c(0.5, 1 / 3)) {
  for (pp in list(c(0.20, 0.24), c(0.20, 0.16), c(0.05, 0.08), c(0.50, 0.60), c(0.70, 0.62), c(0.30, 0.45))) {
    p0 <- pp[1]; p1 <- pp[2]; d <- p1 - p0
    z <- qnorm(1 - alpha / 2); zb <- qnorm(target)
    r <- share / (1 - share)  # n1 = r n0
    # sample size (total people)
    add(p0, p1, alpha, target, share, "wald_unpooled", "n_total", NA, NA,
        solve_total(wald_power, p0, p1, share, alpha, target))
    n0 <- (z + zb)^2 * (p1 * (1 - p1) / r + p0 * (1 - p0)) / d^2
    add(p0, p1, alpha, target, share, "wald_unpooled_closed", "n_total", NA, NA, n0 * (1 + r))
    add(p0, p1, alpha, target, share, "fleiss_chi2", "n_total", NA, NA,
        solve_total(fleiss_power, p0, p1, share, alpha, target))
    # Fleiss et al. (2003) eq. 4.14 with n1 = r n0 (r = 1: the equal-n formula)
    pbar <- (r * p1 + p0) / (r + 1)
    n0f <- (z * sqrt((r + 1) * pbar * (1 - pbar)) + zb * sqrt(p1 * (1 - p1) + r * p0 * (1 - p0)))^2 / (r * d^2)
    add(p0, p1, alpha, target, share, "fleiss_closed", "n_total", NA, NA, n0f * (1 + r))
    h <- ES.h(p1, p0)
    if (share == 0.5) {
      res <- pwr.2p.test(h = h, power = target, sig.level = alpha)
      add(p0, p1, alpha, target, share, "pwr_h", "n_total", NA, NA, 2 * res$n)
    }
    # power and MDE at given whole numbers of people
    for (ntot in c(600, 3000)) {
      n1 <- round(share * ntot); n0 <- ntot - n1
      add(p0, p1, alpha, target, share, "wald_unpooled", "power", n1, n0, wald_power(p0, p1, n1, n0, alpha))
      add(p0, p1, alpha, target, share, "fleiss_chi2", "power", n1, n0, fleiss_power(p0, p1, n1, n0, alpha))
      add(p0, p1, alpha, target, share, "pwr_h", "power", n1, n0,
          pwr.2p2n.test(h = h, n1 = n1, n2 = n0, sig.level = alpha)$power)
      if (d > 0) {  # the MDE: the rise from p0 detected with the target power
        g <- function(x) wald_power(p0, p0 + x, n1, n0, alpha) - target
        add(p0, p1, alpha, target, share, "wald_unpooled", "delta", n1, n0,
            uniroot(g, c(1e-9, 1 - p0 - 1e-9), tol = TOL)$root)
      }
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, "pwr_two_proportions.csv", row.names = FALSE)
cat(nrow(out), "rows written to pwr_two_proportions.csv\n")
# the issue's case: 0.20 -> 0.24, 5% two-sided, 80% power, 1:1 (n per arm)
print(out[out$p0 == 0.2 & out$p1 == 0.24 & out$alpha == 0.05 & out$target == 0.8 &
          out$share == 0.5 & out$quantity == "n_total", c("method", "value")], row.names = FALSE)
cat("per arm:", format(out$value[out$p0 == 0.2 & out$p1 == 0.24 & out$alpha == 0.05 &
    out$target == 0.8 & out$share == 0.5 & out$quantity == "n_total"] / 2), "\n")
