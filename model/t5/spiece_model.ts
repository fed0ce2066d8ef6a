// Parser for sentencepiece's `spiece.model`, a protobuf ModelProto (google/sentencepiece
// src/sentencepiece_model.proto): pieces with score and type, trainer_spec, normalizer_spec. Absent
// fields take the proto2 defaults from that file (note unk_id 0, bos_id 1, eos_id 2, pad_id -1
// there; T5's model sets pad 0, eos 1, unk 2 explicitly). SPEC §4.

import { ProtobufError, ProtoReader, WireType } from "../../io/protobuf.ts";

/** Thrown for a missing, unreadable or unsupported spiece.model; callers may catch it. */
export class SpieceModelError extends Error {
  /** @param message what failed, naming the file */
  constructor(message: string) {
    super(message);
    this.name = "SpieceModelError";
  }
}

/** `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** One vocabulary entry; its id is its index in `SpieceModel.pieces`. */
export interface SentencePiece {
  /** The piece text, with "▁" (U+2581) for a space. */
  piece: string;
  /** Log probability (f32) for Unigram. */
  score: number;
  /** A `PieceType` value. */
  type: number;
}

/** The `TrainerSpec` fields the encoder needs. */
export interface TrainerSpec {
  /** 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR. */
  modelType: number;
  vocabSize: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  eosPiece: string;
  padPiece: string;
}

/** `NormalizerSpec`. */
export interface NormalizerSpec {
  /** Rule name, e.g. "nmt_nfkc" or "identity". */
  name: string;
  /** Compiled rules: u32 trie size, double-array trie, NUL-separated replacement strings. */
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

/** A parsed spiece.model. */
export interface SpieceModel {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
}

const MODEL_TYPES = ["", "UNIGRAM", "BPE", "WORD", "CHAR"];

/**
 * Whether a piece of this type takes part in segmentation (normal, user-defined, unused).
 * @param type a `PieceType` value
 * @returns true for NORMAL, USER_DEFINED and UNUSED
 */
export function isNormalPiece(type: number): boolean {
  return type === PieceType.NORMAL || type === PieceType.USER_DEFINED || type === PieceType.UNUSED;
}

function parsePiece(r: ProtoReader): SentencePiece {
  const p: SentencePiece = { piece: "", score: 0, type: PieceType.NORMAL };
  while (!r.done) {
    const tag = r.tag();
    switch (tag.field) {
      case 1:
        r.expect(tag, WireType.LEN, "piece");
        p.piece = r.string();
        break;
      case 2:
        r.expect(tag, WireType.FIXED32, "score");
        p.score = r.float();
        break;
      case 3:
        r.expect(tag, WireType.VARINT, "type");
        p.type = r.int32();
        break;
      default:
        r.skip(tag.wireType);
    }
  }
  return p;
}

function parseTrainerSpec(r: ProtoReader): TrainerSpec {
  const t: TrainerSpec = {
    modelType: 1,
    vocabSize: 8000,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: "<unk>",
    eosPiece: "</s>",
    padPiece: "<pad>",
  };
  // field number -> [key, wire type, reader]
  const fields: Record<number, [keyof TrainerSpec, number, (r: ProtoReader) => unknown]> = {
    3: ["modelType", WireType.VARINT, (r) => r.int32()],
    4: ["vocabSize", WireType.VARINT, (r) => r.int32()],
    24: ["treatWhitespaceAsSuffix", WireType.VARINT, (r) => r.bool()],
    35: ["byteFallback", WireType.VARINT, (r) => r.bool()],
    40: ["unkId", WireType.VARINT, (r) => r.int32()],
    41: ["bosId", WireType.VARINT, (r) => r.int32()],
    42: ["eosId", WireType.VARINT, (r) => r.int32()],
    43: ["padId", WireType.VARINT, (r) => r.int32()],
    45: ["unkPiece", WireType.LEN, (r) => r.string()],
    47: ["eosPiece", WireType.LEN, (r) => r.string()],
    48: ["padPiece", WireType.LEN, (r) => r.string()],
  };
  const out = t as unknown as Record<string, unknown>;
  while (!r.done) {
    const tag = r.tag();
    const f = fields[tag.field];
    if (!f) {
      r.skip(tag.wireType);
      continue;
    }
    r.expect(tag, f[1], f[0]);
    out[f[0]] = f[2](r);
  }
  return t;
}

function parseNormalizerSpec(r: ProtoReader): NormalizerSpec {
  const n: NormalizerSpec = {
    name: "",
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const fields: Record<number, [keyof NormalizerSpec, number, (r: ProtoReader) => unknown]> = {
    1: ["name", WireType.LEN, (r) => r.string()],
    2: ["precompiledCharsmap", WireType.LEN, (r) => r.bytesField().slice()],
    3: ["addDummyPrefix", WireType.VARINT, (r) => r.bool()],
    4: ["removeExtraWhitespaces", WireType.VARINT, (r) => r.bool()],
    5: ["escapeWhitespaces", WireType.VARINT, (r) => r.bool()],
  };
  const out = n as unknown as Record<string, unknown>;
  while (!r.done) {
    const tag = r.tag();
    const f = fields[tag.field];
    if (!f) {
      r.skip(tag.wireType);
      continue;
    }
    r.expect(tag, f[1], f[0]);
    out[f[0]] = f[2](r);
  }
  return n;
}

/**
 * Parses and checks a spiece.model for Unigram encoding, with the checks sentencepiece's
 * `ModelInterface::InitializePieces` makes (non-empty, unique pieces, exactly one unknown piece).
 * @param bytes the file's bytes
 * @param name the file name for error messages
 * @returns the pieces and specs
 * @throws {SpieceModelError} when the bytes are not a usable Unigram ModelProto
 * @example parseSpieceModel(await Deno.readFile("tokenizer/spiece.model"), "spiece.model")
 */
export function parseSpieceModel(bytes: Uint8Array, name: string): SpieceModel {
  const fail = (what: string): never => {
    throw new SpieceModelError(`Cannot load sentencepiece model "${name}": ${what}`);
  };
  const pieces: SentencePiece[] = [];
  let trainerSpec: TrainerSpec | undefined, normalizerSpec: NormalizerSpec | undefined;
  try {
    const r = new ProtoReader(bytes, name);
    while (!r.done) {
      const tag = r.tag();
      if (tag.field === 1) {
        r.expect(tag, WireType.LEN, "pieces");
        pieces.push(parsePiece(r.message(`pieces[${pieces.length}]`)));
      } else if (tag.field === 2) {
        r.expect(tag, WireType.LEN, "trainer_spec");
        trainerSpec = parseTrainerSpec(r.message("trainer_spec"));
      } else if (tag.field === 3) {
        r.expect(tag, WireType.LEN, "normalizer_spec");
        normalizerSpec = parseNormalizerSpec(r.message("normalizer_spec"));
      } else r.skip(tag.wireType);
    }
  } catch (e) {
    if (e instanceof ProtobufError) fail(`not a valid ModelProto (${e.message})`);
    throw e;
  }
  if (pieces.length === 0) fail("it has no pieces (empty or not a sentencepiece file)");
  trainerSpec ??= parseTrainerSpec(new ProtoReader(new Uint8Array(0), name));
  normalizerSpec ??= parseNormalizerSpec(new ProtoReader(new Uint8Array(0), name));
  if (trainerSpec.modelType !== 1) {
    const type = MODEL_TYPES[trainerSpec.modelType] ?? String(trainerSpec.modelType);
    fail(`model type ${type} is not supported (need UNIGRAM)`);
  }
  if (trainerSpec.byteFallback) fail("byte_fallback is not supported");
  // Like sentencepiece, normal/user-defined/unused pieces and reserved ones (control, unknown,
  // byte) are two namespaces: a piece text must be unique within its own.
  const normal = new Set<string>(), reserved = new Set<string>();
  let unk = -1;
  pieces.forEach((p, i) => {
    if (p.piece === "") fail(`piece ${i} is empty`);
    if (p.type < 1 || p.type > 6) fail(`piece ${i} has unknown type ${p.type}`);
    const set = isNormalPiece(p.type) ? normal : reserved;
    if (set.has(p.piece)) fail(`piece "${p.piece}" (id ${i}) is already defined`);
    set.add(p.piece);
    if (p.type === PieceType.UNKNOWN) {
      if (unk >= 0) fail(`unknown piece defined twice (ids ${unk} and ${i})`);
      unk = i;
    }
  });
  if (unk < 0) fail("no piece has type UNKNOWN (<unk> is not defined)");
  return { pieces, trainerSpec, normalizerSpec };
}
