# Reference values for predict() of location-scale fits (metafor's predict.rma.ls):
# fitted values, newmods with newscale (prediction intervals from the predicted tau^2), newmods alone
# (no prediction interval), newscale alone (the scale's linear predictor, and with transf = exp, tau^2),
# Knapp-Hartung tests, the identity link.
#
# Run:  Rscript tests/data/reference/metafor/metafor_location_scale_predict.R
# Made with R 4.2.2, metafor 3.8.1, metadat 1.2-0.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

bd <- dat.bangertdrowns2004
bd$logni <- log(bd$ni)
d <- bd[complete.cases(bd[, c("yi", "vi", "length", "logni", "grade", "meta")]), ]
input <- list(yi = num(d$yi), vi = num(d$vi), length = num(d$length), logni = num(d$logni),
              grade = num(d$grade), meta = num(d$meta))

out <- function(p) list(pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub),
                        pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub))
fits <- list(
  ml = rma(yi, vi, mods = ~ length, scale = ~ logni, data = d, method = "ML"),
  knha = rma(yi, vi, mods = ~ length, scale = ~ logni, data = d, test = "knha"),
  grade = rma(yi, vi, scale = ~ factor(grade), data = d),
  ident = rma(yi, vi, mods = ~ length, scale = ~ meta, data = d, link = "identity",
              control = list(reltol = 1e-14, outer.eps = 1e-14, outer.iterations = 1000, maxit = 10000))
)
calls <- list(
  list(fit = "ml", args = list(), call = "predict(fit)"),
  list(fit = "ml", args = list(newmods = c(5, 10), newscale = c(3, 4)),
       call = "predict(fit, newmods = c(5, 10), newscale = c(3, 4))"),
  list(fit = "ml", args = list(newmods = c(5, 10), newscale = 3),
       call = "predict(fit, newmods = c(5, 10), newscale = 3)"),
  list(fit = "ml", args = list(newmods = c(5, 10)), call = "predict(fit, newmods = c(5, 10))"),
  list(fit = "ml", args = list(newscale = c(3, 4, 5)), call = "predict(fit, newscale = c(3, 4, 5))"),
  list(fit = "ml", args = list(newscale = c(3, 4, 5), transf = "exp"),
       call = "predict(fit, newscale = c(3, 4, 5), transf = exp)"),
  list(fit = "knha", args = list(newmods = c(5, 10), newscale = c(3, 4)),
       call = "predict(fit, newmods = c(5, 10), newscale = c(3, 4))"),
  list(fit = "knha", args = list(newscale = c(3, 4)), call = "predict(fit, newscale = c(3, 4))"),
  list(fit = "grade", args = list(newscale = rbind(c(0, 0, 0), c(1, 0, 0), c(0, 0, 1))),
       call = "predict(fit, newscale = rbind(c(0, 0, 0), c(1, 0, 0), c(0, 0, 1)))"),
  list(fit = "ident", args = list(newmods = c(5, 10), newscale = c(0, 1)),
       call = "predict(fit, newmods = c(5, 10), newscale = c(0, 1))"),
  list(fit = "ident", args = list(newscale = c(0, 1)), call = "predict(fit, newscale = c(0, 1))")
)
specs <- list(ml = list(mods = "~ length", scale = "~ logni", method = "ML", test = "z", link = "log"),
              knha = list(mods = "~ length", scale = "~ logni", method = "REML", test = "knha", link = "log"),
              grade = list(mods = NULL, scale = "~ factor(grade)", method = "REML", test = "z", link = "log"),
              ident = list(mods = "~ length", scale = "~ meta", method = "REML", test = "z", link = "identity"))
cases <- list()
for (cl in calls) {
  fit <- fits[[cl$fit]]
  a <- cl$args
  if (!is.null(a$transf)) a$transf <- get(a$transf)
  p <- do.call(predict, c(list(fit), a))
  newargs <- cl$args
  if (!is.null(newargs$newscale) && is.matrix(newargs$newscale))
    newargs$newscale <- lapply(seq_len(nrow(newargs$newscale)), function(i) newargs$newscale[i, ])
  cases[[length(cases) + 1]] <- c(list(fit = cl$fit, call = cl$call, args = newargs,
                                       alpha = num(fit$alpha), beta = num(fit$beta)),
                                  specs[[cl$fit]], list(expect = out(p)))
}
writeLines(toJSON(list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
                       input = input, cases = cases),
                  auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(here, "metafor_location_scale_predict.json"))
