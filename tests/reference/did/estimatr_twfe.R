# TWFE reference values from estimatr for tests/test_did_reference.py.
# Run from the repository root:
#   Rscript tests/reference/did/estimatr_twfe.R > tests/reference/did/estimatr_twfe.Rout 2>&1
# Writes tests/reference/did/estimatr_twfe.csv.
suppressMessages(library(estimatr))
dir <- "tests/reference/did"
panels <- read.csv(file.path(dir, "twfe_panels.csv"))
ck <- read.csv(file.path(dir, "data/card_krueger.csv"))
ck <- ck[!is.na(ck$fte), ]
ck$post_nj <- ck$nj * ck$wave
bal <- ck[ave(ck$fte, ck$store, FUN = length) == 2, ]
rows <- list()
add <- function(case, fit, term, se_type) {
  s <- summary(fit)$coefficients
  rows[[length(rows) + 1]] <<- data.frame(
    case = case, term = term, se_type = se_type, estimate = s[term, "Estimate"],
    std_error = s[term, "Std. Error"], df = s[term, "DF"], n_obs = nobs(fit)
  )
}
for (se in c("CR2", "stata", "CR0")) {
  for (p in c("balanced", "unbalanced")) {
    d <- panels[panels$panel == p, ]
    fit <- lm_robust(y ~ d, data = d, fixed_effects = ~ unit + period, clusters = unit, se_type = se)
    print(fit)
    add(p, fit, "d", se)
  }
  d <- panels[panels$panel == "unbalanced_x", ]
  fit <- lm_robust(y ~ d + x, data = d, fixed_effects = ~ unit + period, clusters = region, se_type = se)
  print(fit)
  add("unbalanced_x", fit, "d", se)
  fit <- lm_robust(fte ~ post_nj, data = bal, fixed_effects = ~ store + wave, clusters = store, se_type = se)
  print(fit)
  add("card_krueger_balanced", fit, "post_nj", se)
  fit <- lm_robust(fte ~ post_nj, data = ck, fixed_effects = ~ store + wave, clusters = store, se_type = se)
  print(fit)
  add("card_krueger_available", fit, "post_nj", se)
}
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "estimatr_twfe.csv"), row.names = FALSE)
print(out, digits = 15)
print(sessionInfo()$otherPkgs$estimatr$Version)
