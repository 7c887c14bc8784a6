# Type S and type M (exaggeration) errors of Gelman & Carlin (2014), "Beyond power
# calculations: assessing type S (sign) and type M (magnitude) errors", Perspectives on
# Psychological Science 9(6):641-651. Written here from the paper's definitions and its
# retrodesign() recipe (power = p.hi + p.lo, typeS = p.lo / power with
# p.hi = 1 - F(z - A/s), p.lo = F(-z - A/s); exaggeration = E(|estimate| | significant) / A),
# for an estimate ~ N(A, s^2) (df = Inf). The exaggeration ratio is computed in closed form
# (the normal partial expectations below) and, as the paper does, by simulation (seeded).
#
# Cases: the paper's two worked examples, beauty and sex ratios (A = 0.1, s = 3.28) and
# ovulation and voting (A = 2, s = 8.1), plus two designs with more power.
#
# Rerun: Rscript retrodesign.R > retrodesign.csv

retrodesign_exact <- function(A, s, alpha = 0.05) {
  z <- qnorm(1 - alpha / 2)
  p.hi <- 1 - pnorm(z - A / s)
  p.lo <- pnorm(-z - A / s)
  power <- p.hi + p.lo
  typeS <- p.lo / power
  # E(|b|; b > z s) + E(|b|; b < -z s) for b ~ N(A, s^2):
  # E(b; b > c) = A (1 - Phi((c - A)/s)) + s phi((c - A)/s)
  # E(-b; b < -c) = -A Phi((-c - A)/s) + s phi((-c - A)/s)
  c <- z * s
  u <- (c - A) / s
  l <- (-c - A) / s
  abs_sig <- A * (1 - pnorm(u)) + s * dnorm(u) - A * pnorm(l) + s * dnorm(l)
  exaggeration <- abs_sig / power / abs(A)
  c(power = power, type_s = typeS, type_m = exaggeration)
}

retrodesign_sim <- function(A, s, alpha = 0.05, n.sims = 1e6) {
  z <- qnorm(1 - alpha / 2)
  estimate <- A + s * rnorm(n.sims)
  significant <- abs(estimate) > s * z
  mean(abs(estimate)[significant]) / abs(A)
}

set.seed(20140601)
cases <- data.frame(
  case = c("beauty_sex_ratio", "ovulation_voting", "moderate_power", "high_power"),
  A = c(0.1, 2, 1, 3),
  s = c(3.28, 8.1, 0.5, 1)
)
out <- cbind(cases, t(mapply(retrodesign_exact, cases$A, cases$s)))
out$type_m_sim <- mapply(retrodesign_sim, cases$A, cases$s)
write.csv(out, stdout(), row.names = FALSE, quote = FALSE)
cat(sprintf("# %s\n", R.version.string))
