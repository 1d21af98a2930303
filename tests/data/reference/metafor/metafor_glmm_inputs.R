# How metafor's rma.glmm treats awkward counts: double-zero and double-all 2x2 tables, IRR studies
# without events, an empty group, single proportions / rates of 0 (and of 1), and bad counts.
#
# Run:  Rscript tests/data/reference/metafor/metafor_glmm_inputs.R   (writes metafor_glmm_inputs.json)
# Made with R 4.2.2, metafor 3.8.1, lme4, BiasedUrn (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

or <- data.frame(ai = c(5, 3, 7, 2, 6), n1i = c(20, 30, 25, 40, 33), ci = c(4, 6, 2, 5, 9), n2i = c(22, 28, 30, 35, 31))
irr <- data.frame(x1i = c(5, 3, 7, 2, 6), t1i = c(100, 120, 90, 200, 150), x2i = c(4, 6, 2, 5, 9),
                  t2i = c(110, 100, 95, 180, 160))
plo <- data.frame(xi = c(3, 5, 2, 8, 4), ni = c(10, 12, 9, 20, 15))
irln <- data.frame(xi = c(3, 5, 2, 8, 4), ti = c(10, 12, 9, 20, 15))
change <- function(d, col, i, v) { d[[col]][i] <- v; d }
inputs <- list(
  or_double_zero = change(change(or, "ai", 1, 0), "ci", 1, 0),
  or_double_all = change(change(or, "ai", 1, 20), "ci", 1, 22),
  or_empty_group = change(change(or, "ci", 2, 0), "n2i", 2, 0),
  or_events_over_size = change(or, "ai", 2, 31),
  or_negative = change(or, "ci", 2, -1),
  irr_double_zero = change(change(irr, "x1i", 1, 0), "x2i", 1, 0),
  irr_zero_time = change(irr, "t1i", 2, 0),
  plo_zero = change(plo, "xi", 1, 0),
  plo_all = change(plo, "xi", 1, 10),
  plo_over_size = change(plo, "xi", 2, 13),
  irln_zero = change(irln, "xi", 1, 0),
  irln_zero_time = change(irln, "ti", 2, 0)
)
calls <- list(
  OR = "rma.glmm(measure = 'OR', ai = ai, n1i = n1i, ci = ci, n2i = n2i, model = '%s', data = d)",
  IRR = "rma.glmm(measure = 'IRR', x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, model = '%s', data = d)",
  PLO = "rma.glmm(measure = 'PLO', xi = xi, ni = ni, data = d)",
  IRLN = "rma.glmm(measure = 'IRLN', xi = xi, ti = ti, data = d)"
)
cases <- list()
for (nm in names(inputs)) {
  measure <- toupper(sub("_.*", "", nm))
  models <- switch(measure, OR = c("UM.FS", "UM.RS", "CM.EL", "CM.AL"), IRR = c("UM.FS", "UM.RS", "CM.EL"), "UM.FS")
  for (m in models) {
    d <- inputs[[nm]]
    call <- if (grepl("%s", calls[[measure]], fixed = TRUE)) sprintf(calls[[measure]], m) else calls[[measure]]
    msgs <- character(0)
    res <- tryCatch(withCallingHandlers(eval(parse(text = call)),
                                        warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") }),
                    error = function(e) e)
    failed <- inherits(res, "error")
    cases[[length(cases) + 1]] <- list(
      name = paste0(nm, "_", sub(".", "", m, fixed = TRUE)), input_name = nm, measure = measure, model = m, call = call,
      input = lapply(d, num), warnings = I(msgs), error = if (failed) conditionMessage(res) else NULL,
      expect = if (failed) NULL else list(k = res$k, beta = num(res$beta), tau2 = num(res$tau2)))
  }
}
writeLines(toJSON(list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
                       cases = cases), auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(here, "metafor_glmm_inputs.json"))
