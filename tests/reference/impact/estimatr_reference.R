# estimatr on the stratified trial's subgroups, after dropping the strata that hold one
# arm within a subgroup (the rows python_reference.py keeps: data/stratified_subgroups_kept.csv).
# Run from this folder:  Rscript estimatr_reference.R > estimatr_reference.Rout 2>&1
suppressPackageStartupMessages(library(estimatr))
d <- read.csv("data/stratified_subgroups_kept.csv")
d$z <- as.numeric(d$arm == "treatment")
out <- list()
for (lev in sort(unique(d$health_condition))) {
  s <- d[d$health_condition == lev, ]
  fe <- lm_robust(y ~ z + x, data = s, fixed_effects = ~stratum, se_type = "HC2")
  print(summary(fe))
  dim <- difference_in_means(y ~ z, data = s, blocks = stratum)
  print(dim)
  out[[length(out) + 1]] <- data.frame(
    subgroup = paste0("health_condition=", lev),
    call = c("lm_robust(y ~ z + x, fixed_effects = ~stratum, se_type = 'HC2')",
             "difference_in_means(y ~ z, blocks = stratum)"),
    estimate = c(fe$coefficients[["z"]], dim$coefficients[["z"]]),
    std_error = c(fe$std.error[["z"]], dim$std.error[["z"]]),
    p_value = c(fe$p.value[["z"]], dim$p.value[["z"]]),
    df = c(fe$df[["z"]], dim$df[["z"]]),
    design = c("OLS FE", dim$design),
    n_obs = nrow(s))
}
res <- do.call(rbind, out)
write.csv(res, "estimatr_subgroups.csv", row.names = FALSE)
print(res, digits = 12)
print(sessionInfo())
