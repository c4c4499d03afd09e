# keras3's arguments, in keras3's order and with its defaults, then the
# plugin's own; `...` goes to the layer (name, dtype, trainable...).

layer_conv_1d_transpose_ct <- function(object, filters, kernel_size, strides = 1L,
                                       padding = "valid", data_format = NULL,
                                       dilation_rate = 1L, activation = NULL,
                                       use_bias = TRUE,
                                       kernel_initializer = "glorot_uniform",
                                       bias_initializer = "zeros",
                                       kernel_regularizer = NULL,
                                       bias_regularizer = NULL,
                                       activity_regularizer = NULL,
                                       kernel_constraint = NULL,
                                       bias_constraint = NULL,
                                       output_padding = NULL, groups = 1L,
                                       implementation = "auto", lora_rank = NULL,
                                       lora_alpha = NULL, ...) {
  args <- c(as.list(environment()), list(...))
  args$object <- NULL
  create_layer("Conv1DTranspose", object, args)
}

layer_conv_2d_transpose_ct <- function(object, filters, kernel_size,
                                       strides = list(1L, 1L), padding = "valid",
                                       data_format = NULL,
                                       dilation_rate = list(1L, 1L),
                                       activation = NULL, use_bias = TRUE,
                                       kernel_initializer = "glorot_uniform",
                                       bias_initializer = "zeros",
                                       kernel_regularizer = NULL,
                                       bias_regularizer = NULL,
                                       activity_regularizer = NULL,
                                       kernel_constraint = NULL,
                                       bias_constraint = NULL,
                                       output_padding = NULL, groups = 1L,
                                       implementation = "auto", lora_rank = NULL,
                                       lora_alpha = NULL, ...) {
  args <- c(as.list(environment()), list(...))
  args$object <- NULL
  create_layer("Conv2DTranspose", object, args)
}

layer_conv_3d_transpose_ct <- function(object, filters, kernel_size,
                                       strides = list(1L, 1L, 1L),
                                       padding = "valid", data_format = NULL,
                                       dilation_rate = list(1L, 1L, 1L),
                                       activation = NULL, use_bias = TRUE,
                                       kernel_initializer = "glorot_uniform",
                                       bias_initializer = "zeros",
                                       kernel_regularizer = NULL,
                                       bias_regularizer = NULL,
                                       activity_regularizer = NULL,
                                       kernel_constraint = NULL,
                                       bias_constraint = NULL,
                                       output_padding = NULL, groups = 1L,
                                       implementation = "auto", lora_rank = NULL,
                                       lora_alpha = NULL, ...) {
  args <- c(as.list(environment()), list(...))
  args$object <- NULL
  create_layer("Conv3DTranspose", object, args)
}
