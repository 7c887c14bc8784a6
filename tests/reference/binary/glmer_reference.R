# Reference values for binary_effect(site=...): lme4::glmer random-intercept logit
# with nAGQ = 15. Run: Rscript glmer_reference.R  (writes glmm_data.csv, glmer_reference.csv)
suppressPackageStartupMessages(library(lme4))
set.seed(15015)
G <- 25
n <- 2000
d <- data.frame(site = sample(sprintf("site%02d", 1:G), n, replace = TRUE), x1 = rnorm(n))
d$z <- rbinom(n, 1, 0.5)
d$arm <- ifelse(d$z == 1, "treatment", "control")
u <- rnorm(G, sd = 0.6)
names(u) <- sprintf("site%02d", 1:G)
d$y <- rbinom(n, 1, plogis(-0.3 + 0.45 * d$z + 0.6 * d$x1 + u[d$site]))
write.csv(d, "glmm_data.csv", row.names = FALSE)
fit <- glmer(y ~ z + x1 + (1 | site), data = d, family = binomial, nAGQ = 15,
             control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5),
                                    tolPwrss = 1e-10))
V <- as.matrix(vcov(fit))
out <- data.frame(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                  std_error = sqrt(diag(V)))
out <- rbind(out, data.frame(term = "site_sd", estimate = unname(getME(fit, "theta")),
                             std_error = NA))
out <- rbind(out, data.frame(term = "loglik", estimate = as.numeric(logLik(fit)), std_error = NA))
write.csv(out, "glmer_reference.csv", row.names = FALSE)
print(summary(fit))
print(out, digits = 12)
cat("lme4", as.character(packageVersion("lme4")), "\n")
