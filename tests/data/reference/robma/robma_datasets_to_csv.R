# Re-save RoBMA's example data sets Andrews2021 and Johnides2025 as CSV for bayesma's
# benchmarks (benchmarks/bench_robma_reg.py) and reference comparisons.
#
# Usage: Rscript robma_datasets_to_csv.R DIR
#   DIR holds Andrews2021.RData and Johnides2025.RData from RoBMA's data/ folder
#   (https://github.com/FBartos/RoBMA/tree/master/data); the CSVs are written next to this script.
# Andrews2021: the rows with complete ri and ni (36 of 39), as RoBMA's vignette
# "Robust Bayesian Model-Averaged Meta-Regression" uses them, with metafor's ZCOR yi / vi.
args <- commandArgs(trailingOnly = TRUE)
src <- if (length(args) >= 1) args[1] else "."
out <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))

load(file.path(src, "Andrews2021.RData"))
a <- Andrews2021[!is.na(Andrews2021$ri) & !is.na(Andrews2021$ni), ]
a$yi <- atanh(a$ri)
a$vi <- 1 / (a$ni - 3)
write.csv(a[, c("slab", "ri", "ni", "yi", "vi", "measure", "age")], file.path(out, "Andrews2021.csv"),
          row.names = FALSE)

load(file.path(src, "Johnides2025.RData"))
write.csv(Johnides2025[, c("study", "d", "se")], file.path(out, "Johnides2025.csv"), row.names = FALSE)
cat("wrote", nrow(a), "rows of Andrews2021 and", nrow(Johnides2025), "rows of Johnides2025 to", out, "\n")
