# R did multiplier-bootstrap SEs and uniform-band critical values (issue 17) for
# tests/test_staggered_rcs_bootstrap.py.
#   R_LIBS=/tmp/Rlib Rscript tests/reference/did/bootstrap_bands.R > tests/reference/did/bootstrap_bands.Rout 2>&1
# att_gt(panel = FALSE, dr, never-treated, no covariates, survey weights w, clustered by area,
# bstrap = TRUE, cband = TRUE, biters = 20000) on staggered_rcs.csv and aggte(simple / dynamic /
# group / calendar, cband = TRUE) for four seeds; writes bootstrap_bands.csv
# (seed, object, key, estimate, se (bootstrap: IQR / 1.349), crit (uniform critical value)).
suppressPackageStartupMessages(library(did))
cat("did", as.character(packageVersion("did")), "\n"); print(R.version.string)
dir <- "tests/reference/did"
rcs <- read.csv(file.path(dir, "staggered_rcs.csv"))
rows <- list()
for (s in c(1, 2, 3, 4)) {
  set.seed(s)
  res <- suppressWarnings(att_gt(yname = "y", tname = "quarter", gname = "cohort", data = rcs,
                                 panel = FALSE, weightsname = "w", clustervars = "area",
                                 est_method = "dr", control_group = "nevertreated",
                                 bstrap = TRUE, cband = TRUE, biters = 20000))
  rows[[length(rows) + 1]] <- data.frame(seed = s, object = "att_gt", key = paste(res$group, res$t, sep = ":"),
                                         estimate = res$att, se = res$se, crit = res$c)
  for (type in c("simple", "dynamic", "group", "calendar")) {
    a <- suppressWarnings(aggte(res, type = type, bstrap = TRUE, cband = TRUE, biters = 20000, na.rm = TRUE))
    rows[[length(rows) + 1]] <- data.frame(seed = s, object = type, key = "overall",
                                           estimate = a$overall.att, se = a$overall.se, crit = NA)
    if (type != "simple") {
      rows[[length(rows) + 1]] <- data.frame(seed = s, object = type, key = as.character(a$egt),
                                             estimate = a$att.egt, se = a$se.egt, crit = a$crit.val.egt)
    }
  }
}
out <- do.call(rbind, rows)
write.csv(out, file.path(dir, "bootstrap_bands.csv"), row.names = FALSE)
print(out[out$seed == 1, ])
