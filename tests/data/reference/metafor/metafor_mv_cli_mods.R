# Reference for `bayesma mv --mods` without --che: a multivariate model across outcomes with moderators
# (random = ~ outcome | study with a structure), on the seed's shape of metafor_mv_more.json
# (case seed_shape_CS_REML's input: three outcomes from 21 studies, synthetic).
# Run from the repository root: Rscript tests/data/reference/metafor/metafor_mv_cli_mods.R
library(metafor)       # 3.8.1
library(clubSandwich)  # 0.5.8
library(jsonlite)

here <- "tests/data/reference/metafor"
cases <- fromJSON(file.path(here, "metafor_mv_more.json"), simplifyVector = FALSE)$cases
inp <- Filter(function(c) c$name == "seed_shape_CS_REML", cases)[[1]]$input
inp$V <- NULL
rows <- as.data.frame(lapply(inp, unlist), stringsAsFactors = FALSE)
Vs <- vcalc(vi, cluster = study, type = outcome, rho = 0.5, data = rows)
out <- list()
for (struct in c("CS", "HCS")) {
  res <- rma.mv(yi, Vs, mods = ~ 0 + outcome + setting, random = ~ outcome | study, struct = struct,
                data = rows, method = "REML")
  rob <- robust(res, cluster = study, clubSandwich = TRUE)
  out[[length(out) + 1]] <- list(
    name = paste0("seed_shape_", struct, "_REML_mods_setting"),
    call = paste0("Vs <- vcalc(vi, cluster = study, type = outcome, rho = 0.5); rma.mv(yi, Vs, mods = ~ 0 + outcome + ",
                  "setting, random = ~ outcome | study, struct = '", struct, "', method = 'REML'); ",
                  "robust(res, cluster = study, clubSandwich = TRUE)"),
    expect = list(coef_names = rownames(res$b), beta = as.vector(res$b), se = res$se, ci_lb = res$ci.lb,
                  ci_ub = res$ci.ub, tau2 = res$tau2, rho = res$rho, logLik = as.numeric(logLik(res)),
                  robust_cr2 = list(se = rob$se, df = rob$dfs, ci_lb = rob$ci.lb, ci_ub = rob$ci.ub)))
}
writeLines(toJSON(list(metafor = as.character(packageVersion("metafor")),
                       clubSandwich = as.character(packageVersion("clubSandwich")), cases = out),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE),
           file.path(here, "metafor_mv_cli_mods.json"))
