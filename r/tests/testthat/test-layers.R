test_that("the seed's example gives (4, 20, 16, 32)", {
  x <- keras$random$uniform(list(4L, 10L, 8L, 128L))
  y <- x |> layer_conv_2d_transpose_ct(32, 2, 2, activation = 'relu')
  expect_equal(shape_of(y), c(4, 20, 16, 32))
  expect_gte(min(keras$ops$convert_to_numpy(y)), 0)
  # An R array, too.
  y <- uniform(4, 10, 8, 128) |> layer_conv_2d_transpose_ct(32, 2, strides = 2, padding = "same")
  expect_equal(shape_of(y), c(4, 20, 16, 32))
  expect_equal(shape_of(layer_conv_1d_transpose_ct(uniform(2, 5, 3), 4, 3)),
               c(2, 7, 4))
  expect_equal(shape_of(layer_conv_3d_transpose_ct(uniform(1, 2, 3, 4, 2), 5, 2,
                                                  strides = 2)),
               c(1, 4, 6, 8, 5))
})

test_that("every argument reaches the layer with the Python type it expects", {
  layer <- layer_conv_2d_transpose_ct(
    filters = 8, kernel_size = c(3, 2), strides = list(2, 1),
    padding = list(list(1, 0), c(0, 1)), data_format = "channels_first",
    dilation_rate = 1, activation = "relu", use_bias = FALSE,
    kernel_initializer = "he_normal", bias_initializer = "ones",
    kernel_regularizer = "l2", bias_regularizer = NULL,
    activity_regularizer = NULL, kernel_constraint = "non_neg",
    bias_constraint = NULL, output_padding = c(1, 0), groups = 2,
    implementation = "generic", lora_rank = 2, lora_alpha = 4, name = "up",
    dtype = "float64")
  builtins <- reticulate::import_builtins(convert = FALSE)
  type_of <- function(name) {
    value <- reticulate::py_get_attr(reticulate::r_to_py(layer), name)
    as.character(reticulate::py_str(builtins$type(value)$`__name__`))
  }
  for (name in c("filters", "groups", "lora_rank")) {
    expect_identical(type_of(name), "int", label = name)
  }
  expect_identical(layer$filters, 8L)
  expect_identical(layer$kernel_size, list(3L, 2L))
  expect_identical(layer$strides, list(2L, 1L))
  expect_identical(layer$padding, list(list(1L, 0L), list(0L, 1L)))
  expect_identical(layer$output_padding, list(1L, 0L))
  expect_identical(layer$dilation_rate, list(1L, 1L))
  expect_identical(layer$data_format, "channels_first")
  expect_identical(layer$groups, 2L)
  expect_identical(layer$implementation, "generic")
  expect_identical(layer$lora_rank, 2L)
  expect_identical(layer$use_bias, FALSE)
  expect_identical(layer$name, "up")
  config <- layer$get_config()
  expect_identical(config$lora_alpha, 4)
  expect_identical(config$activation, "relu")
  expect_identical(config$kernel_initializer$class_name, "HeNormal")
  expect_identical(config$kernel_regularizer$class_name, "L2")
  expect_identical(config$kernel_constraint$class_name, "NonNeg")
  expect_null(config$bias_regularizer)
  expect_identical(config$dtype$config$name, "float64")
  # Defaults: keras3's, and the data format Keras's config gives.
  defaults <- layer_conv_2d_transpose_ct(filters = 1, kernel_size = 1)$get_config()
  expect_identical(defaults$strides, list(1L, 1L))
  expect_identical(defaults$padding, "valid")
  expect_identical(defaults$data_format, keras$config$image_data_format())
  expect_identical(defaults$use_bias, TRUE)
  expect_null(defaults$output_padding)
})

test_that("a model built by piping trains, and Python loads its .keras file", {
  model <- keras$Sequential(list(keras$Input(shape = list(6L, 5L, 3L)))) |>
    layer_conv_2d_transpose_ct(4, 3, strides = 2, padding = "same",
                               activation = "relu") |>
    layer_conv_2d_transpose_ct(2, list(2, 2), name = "last")
  expect_length(model$layers, 2)
  model$compile(optimizer = "adam", loss = "mse")
  x <- uniform(8, 6, 5, 3)
  before <- model$get_layer("last")$get_weights()[[1]]
  history <- model$fit(x, uniform(8, 13, 11, 2), epochs = 1L, batch_size = 4L,
                       verbose = 0L)
  expect_length(history$history$loss, 1)
  expect_false(isTRUE(all.equal(model$get_layer("last")$get_weights()[[1]], before)))
  path <- tempfile(fileext = ".keras")
  model$save(path)
  expected <- model$predict(x, verbose = 0L)
  inputs <- tempfile(fileext = ".npy")
  outputs <- tempfile(fileext = ".npy")
  np$save(inputs, np$asarray(x, dtype = "float32"))
  script <- paste(
    "import sys, keras, numpy",
    "import keras_ct_plugin",
    "model = keras.saving.load_model(sys.argv[1])",
    "numpy.save(sys.argv[3], model.predict(numpy.load(sys.argv[2]), verbose=0))",
    sep = "\n")
  status <- system2(python_exe(), c("-c", shQuote(script), path, inputs, outputs))
  expect_identical(status, 0L)
  loaded <- reticulate::py_to_r(np$load(outputs))
  expect_equal(dim(loaded), c(8, 13, 11, 2))
  expect_equal(loaded, expected, tolerance = 1e-6)
})

test_that("a bad argument gives an R error with the layer's message", {
  expect_error(layer_conv_2d_transpose_ct(filters = 2.5, kernel_size = 2),
               "Invalid type for argument `filters`", fixed = TRUE)
  expect_error(layer_conv_2d_transpose_ct(filters = 4, kernel_size = 2, padding = "full"),
               "Invalid value for argument `padding`. Expected 'valid' or 'same'. Received padding='full'.",
               fixed = TRUE)
  expect_error(layer_conv_2d_transpose_ct(filters = 4, kernel_size = list(2, 2, 2)),
               "kernel_size", fixed = TRUE)
})
