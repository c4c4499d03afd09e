library(testthat)
library(kerasct)

test_check("kerasct")
