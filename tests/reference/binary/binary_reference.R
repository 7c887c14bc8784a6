# Reference values for dwp_eval.binary_effect.
# Run: Rscript binary_reference.R   (writes data.csv and r_reference.csv here)
# glm(binomial) + sandwich (vcovHC HC0/HC1, vcovCL HC0/HC1 = CR0/CR1) for the
# odds ratio; a hand-written standardisation (g-computation) with the influence-
# function sandwich (Ye et al. 2023) for the marginal risk difference and ratio.
suppressPackageStartupMessages(library(sandwich))
set.seed(20261206)
n <- 600
d <- data.frame(
  stratum = sample(c("s1", "s2", "s3"), n, replace = TRUE),
  office = sample(1:40, n, replace = TRUE),
  x1 = rnorm(n), x2 = runif(n),
  w = runif(n, 0.5, 2)
)
d$z <- rbinom(n, 1, 0.5)
d$arm <- ifelse(d$z == 1, "treatment", "control")
eta <- -0.4 + 0.5 * d$z + 0.7 * d$x1 - 0.8 * d$x2 + 0.3 * (d$stratum == "s2")
d$y <- rbinom(n, 1, plogis(eta))
write.csv(d, "data.csv", row.names = FALSE)

std_effects <- function(fit, X, w, cluster, type) {
  n <- nrow(X); k <- ncol(X)
  B <- bread(fit) / n            # inverse information
  S <- estfun(fit)               # scores
  linkinv <- fit$family$linkinv; mu.eta <- fit$family$mu.eta
  W <- sum(w)
  phi <- sapply(c(0, 1), function(a) {
    Xa <- X; Xa[, "z"] <- a
    e <- drop(Xa %*% coef(fit)); Fa <- linkinv(e)
    p <- sum(w * Fa) / W
    D <- colSums(Xa * (w * mu.eta(e))) / W
    w * (Fa - p) / W + drop(S %*% (B %*% D))
  })
  p <- sapply(c(0, 1), function(a) {
    Xa <- X; Xa[, "z"] <- a; sum(w * linkinv(drop(Xa %*% coef(fit)))) / W
  })
  if (is.null(cluster)) {
    V <- crossprod(phi) * (if (type == "HC1") n / (n - k) else 1)
  } else {
    sums <- rowsum(phi, cluster); G <- nrow(sums)
    V <- crossprod(sums) * G / (G - 1) * (if (type == "HC1") (n - 1) / (n - k) else 1)
  }
  rd <- p[2] - p[1]; se_rd <- sqrt(V[1, 1] + V[2, 2] - 2 * V[1, 2])
  g <- c(-1 / p[1], 1 / p[2]); lse_rr <- sqrt(drop(t(g) %*% V %*% g))
  c(p0 = p[1], p1 = p[2], rd = rd, se_rd = se_rd, rr = p[2] / p[1], log_se_rr = lse_rr)
}

rows <- list()
cases <- list(
  list(name = "plain_hc0", f = y ~ z, w = FALSE, cl = FALSE, type = "HC0", link = "logit"),
  list(name = "cov_hc0", f = y ~ z + factor(stratum) + x1 + x2, w = FALSE, cl = FALSE, type = "HC0", link = "logit"),
  list(name = "cov_hc1", f = y ~ z + factor(stratum) + x1 + x2, w = FALSE, cl = FALSE, type = "HC1", link = "logit"),
  list(name = "cov_cr1", f = y ~ z + factor(stratum) + x1 + x2, w = FALSE, cl = TRUE, type = "HC1", link = "logit"),
  list(name = "cov_cr0", f = y ~ z + factor(stratum) + x1 + x2, w = FALSE, cl = TRUE, type = "HC0", link = "logit"),
  list(name = "cov_weighted_hc0", f = y ~ z + factor(stratum) + x1 + x2, w = TRUE, cl = FALSE, type = "HC0", link = "logit"),
  list(name = "probit_hc0", f = y ~ z + factor(stratum) + x1 + x2, w = FALSE, cl = FALSE, type = "HC0", link = "probit")
)
for (cs in cases) {
  wts <- if (cs$w) d$w else rep(1, n)
  fit <- suppressWarnings(glm(cs$f, family = binomial(link = cs$link), data = d, weights = wts,
                              control = glm.control(epsilon = 1e-14, maxit = 100)))
  X <- model.matrix(fit)
  V <- if (cs$cl) vcovCL(fit, cluster = d$office, type = cs$type) else vcovHC(fit, type = cs$type)
  eff <- std_effects(fit, X, wts, if (cs$cl) d$office else NULL, cs$type)
  rows[[cs$name]] <- data.frame(case = cs$name, log_or = unname(coef(fit)["z"]),
                                se_log_or = sqrt(V["z", "z"]), t(eff))
}
out <- do.call(rbind, rows)
write.csv(out, "r_reference.csv", row.names = FALSE)
print(out, digits = 12)
