# Reference values for the site SD's intervals of binary_effect(site=...): lme4::glmer
# (nAGQ = 15) on the committed glmm_data.csv (made by glmer_reference.R).
# Run: Rscript glmer_site_sd_reference.R > glmer_site_sd_reference.txt
#   (writes glmer_site_sd_reference.csv)
# * the profile-likelihood interval: confint(fit, method = "profile"), lme4's default;
# * the SE of sigma from lme4's Hessian of the deviance over (theta, beta) at the optimum
#   (fit@optinfo$derivs$Hessian, by finite differences): vcov = 2 H^{-1}; for one random
#   intercept theta is the site SD.
suppressPackageStartupMessages(library(lme4))
d <- read.csv("glmm_data.csv")
fit <- glmer(y ~ z + x1 + (1 | site), data = d, family = binomial, nAGQ = 15,
             control = glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5),
                                    tolPwrss = 1e-10))
H <- fit@optinfo$derivs$Hessian
se <- sqrt(diag(2 * solve(H)))
ci <- confint(fit, parm = "theta_", method = "profile", level = 0.95)
out <- data.frame(quantity = c("site_sd", "site_sd_se", "profile_conf_low", "profile_conf_high"),
                  value = c(unname(getME(fit, "theta")), se[1], ci[1, 1], ci[1, 2]))
write.csv(out, "glmer_site_sd_reference.csv", row.names = FALSE)
print(out, digits = 12)
cat("R", R.version$major, R.version$minor, "lme4", as.character(packageVersion("lme4")), "\n")
