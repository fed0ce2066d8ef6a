/**
 * dit4edit: training-free, shape-aware image editing with a diffusion transformer (DiT4Edit on
 * PixArt-α), running on a from-scratch tensor runtime over WebGPU.
 *
 * This module exports the runtime (device, tensors, lifetime) and its ops.
 *
 * @example
 * ```ts ignore
 * import { add, getGpu, scope, Tensor } from "@dit4edit/dit4edit";
 * const gpu = await getGpu();
 * const x = Tensor.from(gpu, [1, 2, 3, 4], [2, 2]);
 * const y = scope(() => add(x, x));
 * console.log(await y.toArray()); // Float32Array [2, 4, 6, 8]
 * ```
 *
 * @module
 */

export {
  type AdapterKind,
  type Binding,
  getGpu,
  Gpu,
  type GpuOptions,
  requestGpu,
} from "./tensor/device.ts";
export {
  DeviceLostError,
  GpuError,
  GpuOutOfMemoryError,
  GpuValidationError,
  NoAdapterError,
} from "./tensor/errors.ts";
export { Tensor, type TensorData } from "./tensor/tensor.ts";
export { type DType, f16BitsToF32, f32ToF16Bits, type HostArray } from "./tensor/dtype.ts";
export { type Disposable, keep, scope } from "./tensor/scope.ts";
export type { KernelProgram } from "./tensor/pipeline_cache.ts";
export { add, binary, type BinaryOp, div, mul, sub } from "./kernels/binary.ts";
export { exp, geluTanh, scale, silu, unary, type UnaryOp } from "./kernels/unary.ts";
export { softmax } from "./kernels/softmax.ts";
export { mean, sum } from "./kernels/reduce.ts";
export { concat } from "./kernels/concat.ts";
export { gatherRows } from "./kernels/gather_rows.ts";
export { permute } from "./kernels/permute.ts";
export { type KernelVariant, pickVariant, withVariant } from "./kernels/_variant.ts";
export type { RgbaImage } from "./image/rgba_image.ts";
export { ImageDecodeError } from "./image/image_decode_error.ts";
export { decodeImage, type DecodeImageOptions, DEFAULT_MAX_PIXELS } from "./image/decode_image.ts";
export { encodePng } from "./image/encode_png.ts";
export { decodeJpeg, type DecodeJpegOptions } from "./image/jpeg_decode.ts";
export { encodeJpeg, type EncodeJpegOptions } from "./image/jpeg_encode.ts";
export { type ResizeFilter, resizeImage, type ResizeOptions } from "./image/resize.ts";
export {
  openSafetensors,
  readSafetensorsBytes,
  SafetensorsBuffer,
  SafetensorsFile,
} from "./io/safetensors.ts";
export { SafetensorsError, type TensorInfo } from "./io/safetensors_header.ts";
export type { TensorChunk, TensorReader } from "./io/tensor_reader.ts";
export {
  serializeSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from "./io/safetensors_write.ts";
export { openShardedSafetensors, ShardedSafetensors } from "./io/sharded.ts";
export { ModelFolder, openModelFolder } from "./io/model_folder.ts";
export { Weights, type WeightsOptions } from "./tensor/weights.ts";
export {
  DEFAULT_MAX_LENGTH,
  loadT5Tokenizer,
  T5Tokenizer,
  type TokenizedText,
  type TokenizeOptions,
} from "./model/t5/tokenizer.ts";
export { parseSpieceModel, type SpieceModel, SpieceModelError } from "./model/t5/spiece_model.ts";
export {
  linear,
  type LinearOptions,
  matmul,
  MATMUL_VARIANTS,
  type MatmulActivation,
  type MatmulOptions,
  PackedWeight,
  packWeight,
} from "./kernels/matmul.ts";
export { flashAttention, type FlashAttentionOptions } from "./kernels/flash_attention.ts";
export {
  attendProbs,
  type AttendProbsOptions,
  attentionProbs,
  type AttentionProbsOptions,
} from "./kernels/cross_attention.ts";
export { layerNorm, type LayerNormOptions } from "./kernels/layer_norm.ts";
export { groupNorm, type GroupNormOptions } from "./kernels/group_norm.ts";
export { rmsNorm, type RmsNormOptions } from "./kernels/rms_norm.ts";
export { conv2d, type Conv2dOptions, upsampleNearest2x } from "./kernels/conv2d.ts";
export { releaseScratchTextures } from "./kernels/_texture.ts";
export { type TomePlan, tomePlan, type TomePlanOptions } from "./kernels/tome_plan.ts";
export { tomeMerge, tomeUnmerge } from "./kernels/tome_merge.ts";
export { DPMSolverMultistepScheduler, DpmSolverState } from "./pipeline/dpm_solver.ts";
export { DDIMScheduler } from "./pipeline/ddim.ts";
export { schedulerFromConfig } from "./pipeline/scheduler.ts";
export {
  ddimInversion,
  type DpmInversionOptions,
  dpmSolverInversion,
  type EpsModel,
  type InversionResult,
} from "./pipeline/inversion.ts";
export {
  type EncodedPrompt,
  loadPipeline,
  type LoadPipelineOptions,
  PixArtPipeline,
  type PromptStats,
  type TextEncoderSource,
} from "./pipeline/pixart_pipeline.ts";
export {
  type CachedPrompt,
  PromptCache,
  type PromptCacheExpect,
  textEncoderIdentity,
  type TextEncoderIdentityInput,
} from "./pipeline/prompt_cache.ts";
export {
  decodeLatents,
  edit,
  encodeImage,
  generate,
  generateLatents,
  type GenerateOptions,
  invert,
} from "./pipeline/edit.ts";
export type { EditOptions, EditResult, ProgressEvent } from "./pipeline/edit_options.ts";
export { processingSize } from "./pipeline/size_policy.ts";
export { type PixArtInputs, PixArtTransformer } from "./model/pixart/transformer.ts";
export { parsePixArtConfig, type PixArtConfig } from "./model/pixart/config.ts";
export { T5Encoder } from "./model/t5/encoder.ts";
export { parseT5Config, type T5Config } from "./model/t5/config.ts";
export {
  AutoencoderKL,
  type AutoencoderKLOptions,
  type VaeCallOptions,
} from "./model/vae/autoencoder_kl.ts";
export type { VaeTiling, VaeTilingMode, VaeTilingOptions } from "./model/vae/tiling.ts";
export { parseVaeConfig, type VaeConfig } from "./model/vae/config.ts";
export { sideBySide } from "./image/grid.ts";
export { overlayHeatmap } from "./image/heatmap.ts";
