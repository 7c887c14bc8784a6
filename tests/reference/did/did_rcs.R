# R did (panel = FALSE, allow_unbalanced_panel = TRUE) reference for staggered_did.
#   R_LIBS=/tmp/Rlib Rscript tests/reference/did/did_rcs.R > tests/reference/did/did_rcs.Rout 2>&1
# Writes did_rcs_att_gt.csv and did_rcs_aggte.csv (analytic SEs; clustered by area for
# the cross-sections, by person for the unbalanced panel).
suppressPackageStartupMessages(library(did))
cat("did", as.character(packageVersion("did")), "DRDID", as.character(packageVersion("DRDID")),
    "BMisc", as.character(packageVersion("BMisc")), "fastglm", as.character(packageVersion("fastglm")), "\n")
print(R.version.string)
dir <- "tests/reference/did"
rcs <- read.csv(file.path(dir, "staggered_rcs.csv"))
unb <- read.csv(file.path(dir, "staggered_unbalanced.csv"))
data(mpdta, package = "did")
write.csv(mpdta, file.path(dir, "mpdta.csv"), row.names = FALSE)
gt_rows <- list(); ag_rows <- list()
run <- function(spec, data, args) {
  res <- suppressWarnings(do.call(att_gt, c(list(data = data, bstrap = FALSE, cband = FALSE), args)))
  gt_rows[[length(gt_rows) + 1]] <<- data.frame(spec = spec, cohort = res$group, time = res$t,
                                                 estimate = res$att, std_error = res$se)
  for (type in c("simple", "dynamic", "group", "calendar")) {
    a <- suppressWarnings(aggte(res, type = type, bstrap = FALSE, cband = FALSE, na.rm = TRUE))
    key <- if (type == "simple") NA else a$egt
    ag_rows[[length(ag_rows) + 1]] <<- data.frame(
      spec = spec, type = type, key = c(NA, if (type == "simple") NULL else key),
      estimate = c(a$overall.att, if (type == "simple") NULL else a$att.egt),
      std_error = c(a$overall.se, if (type == "simple") NULL else a$se.egt))
  }
}
for (cg in c("nevertreated", "notyettreated")) for (m in c("dr", "ipw", "reg")) for (xf in c("1", "x")) {
  for (bp in c("varying", "universal")) {
    for (wt in c("w", "none")) {
      spec <- paste("rcs", cg, m, xf, bp, wt, sep = "|")
      run(spec, rcs, list(yname = "y", tname = "quarter", gname = "cohort", panel = FALSE,
                          xformla = as.formula(paste("~", xf)), control_group = cg, est_method = m,
                          base_period = bp, clustervars = "area",
                          weightsname = if (wt == "w") "w" else NULL))
    }
  }
  spec <- paste("unbalanced", cg, m, xf, "varying", "w", sep = "|")
  run(spec, unb, list(yname = "y", tname = "period", idname = "id", gname = "cohort", panel = TRUE,
                      allow_unbalanced_panel = TRUE, xformla = as.formula(paste("~", xf)),
                      control_group = cg, est_method = m, weightsname = "w"))
}
for (m in c("dr", "ipw", "reg")) for (xf in c("1", "lpop")) {
  spec <- paste("mpdta", "nevertreated", m, xf, "varying", "none", sep = "|")
  run(spec, mpdta, list(yname = "lemp", tname = "year", gname = "first.treat", panel = FALSE,
                        xformla = as.formula(paste("~", xf)), est_method = m, clustervars = "countyreal"
                        ))
}
gt <- do.call(rbind, gt_rows); ag <- do.call(rbind, ag_rows)
write.csv(gt, file.path(dir, "did_rcs_att_gt.csv"), row.names = FALSE)
write.csv(ag, file.path(dir, "did_rcs_aggte.csv"), row.names = FALSE)
print(head(gt, 20)); print(head(ag, 20))
cat("rows", nrow(gt), nrow(ag), "\n")
