# Coefficient names of moderator formulas, as metafor 3.8.1 (R's model.matrix) names them, and the
# Wald tests of anova(res, btt=...) with btt given by name (metafor greps the names) and by number.
#
#   Rscript metafor_coef_names.R > metafor_coef_names.json
suppressMessages(library(metafor))
suppressMessages(library(jsonlite))
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$era <- ifelse(dat$year < 1960, "early", "late")
formulas <- c("~ 0 + alloc", "~ factor(alloc) - 1", "~ ablat:alloc", "~ alloc", "~ ablat*alloc",
              "~ alloc - 1", "~ -1 + alloc", "~ factor(alloc):ablat", "~ ablat + factor(year > 1960)",
              "~ log(ablat)", "~ I(ablat^2)", "~ ablat + I(ablat^2)", "~ poly(ablat, 2)", "~ alloc + era",
              "~ alloc*era", "~ ablat + year", "~ factor(era)", "~ relevel(factor(alloc), ref = 'random')",
              "~ I(ablat > 30) + I(year == 1948)")
cases <- lapply(formulas, function(f) {
  res <- rma(yi, vi, mods = as.formula(f), data = dat, method = "REML")
  list(formula = f, coef_names = rownames(res$beta), beta = as.numeric(res$beta))
})
# btt by name (grep) and by number give the same test
res <- rma(yi, vi, mods = ~ ablat * alloc, data = dat)
btt <- list(
  list(btt = "alloc", by = "name", idx = grep("alloc", rownames(res$beta)),
       QM = anova(res, btt = "alloc")$QM),
  list(btt = "ablat:", by = "name", idx = grep("ablat:", rownames(res$beta)),
       QM = anova(res, btt = "ablat:")$QM),
  list(btt = c(3, 4), by = "number", idx = c(3, 4), QM = anova(res, btt = 3:4)$QM))
out <- list(metafor_version = as.character(packageVersion("metafor")), R = R.version.string,
            formulas = cases, interaction_model = list(coef_names = rownames(res$beta), btt = btt))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE))
