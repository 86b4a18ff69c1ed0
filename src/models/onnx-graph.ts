// The ONNX graph of a model: the same layers the encoder and heads run (embeddings, then per layer
// attention and feed-forward with their LayerNorms, then the head), written as ONNX operators with
// the weights as initializers, under Hugging Face's parameter names and its ONNX exports' input and
// output names, with dynamic batch and sequence axes. A float model gives a float graph; an int8
// model (its Linear weights and word embeddings quantized per row) gives the graph onnxruntime's
// dynamic quantization makes: DynamicQuantizeLinear + MatMulInteger, its weights ours.

import { UserError } from "../errors.js";
import { IR_VERSION, ONNX_TYPES, type OnnxType } from "../io/onnx-proto.js";
import type { Activation } from "../tensor/backend.js";
import { architectureKeys } from "./create.js";
import type { TransformerModel } from "./model.js";
import type { Parameter } from "./types.js";

/** The opsets written: 17 and later have LayerNormalization; 14-16 get it spelt out. */
export const ONNX_OPSETS = { min: 14, max: 23, default: 17 };

/** An int (a number), ints, a string, or a float (`{ float }`). */
type Attribute = number | number[] | string | { float: number };

interface Initializer {
  name: string;
  data_type: OnnxType;
  dims: number[];
  raw_data: Uint8Array;
}

function bytesOf(array: ArrayBufferView): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** [rows, cols] -> [cols, rows]: Hugging Face's Linear weights are [out, in], MatMul takes [in, out]. */
function transposed<T extends Float32Array | Int8Array>(data: T, rows: number, cols: number): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** Nodes and initializers, each value named once. */
class GraphBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Initializer[] = [];
  private count = 0;

  constructor(readonly opset: number) {}

  node(op: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs = 1) {
    const names = Array.from({ length: outputs }, () => `${op}_${this.count++}`);
    const attribute = Object.entries(attributes).map(([name, value]) => {
      if (typeof value === "string") return { name, type: 3, s: new TextEncoder().encode(value) };
      if (Array.isArray(value)) return { name, type: 7, ints: value };
      if (typeof value === "object") return { name, type: 1, f: value.float };
      return { name, type: 2, i: value };
    });
    this.nodes.push({ op_type: op, name: names[0], input: inputs, output: names, attribute });
    return names;
  }

  op(op: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(op, inputs, attributes)[0];
  }

  tensor(name: string, type: OnnxType, dims: number[], data: ArrayBufferView): string {
    this.initializers.push({ name, data_type: type, dims, raw_data: bytesOf(data) });
    return name;
  }

  floats(name: string, dims: number[], data: ArrayLike<number>): string {
    return this.tensor(name, ONNX_TYPES.FLOAT, dims, Float32Array.from(data));
  }

  private readonly constants = new Map<string, string>();

  /** A constant initializer, written once however often it is used. */
  private constantTensor(key: string, make: (name: string) => string): string {
    let name = this.constants.get(key);
    if (!name) {
      name = make(`const_${this.constants.size}`);
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 vector (or, with `scalar`, the single value as a 0-d tensor). */
  ints(data: number[], scalar = false): string {
    const dims = scalar ? [] : [data.length];
    return this.constantTensor(`i64 ${scalar} ${data}`, (name) =>
      this.tensor(name, ONNX_TYPES.INT64, dims, BigInt64Array.from(data, BigInt)),
    );
  }

  /** A float scalar. */
  constant(value: number): string {
    return this.constantTensor(`f32 ${value}`, (name) =>
      this.tensor(name, ONNX_TYPES.FLOAT, [], Float32Array.of(value)),
    );
  }
}

/** What every layer needs: the builder, the model's parameters by name, and the int8 choice. */
class OnnxWriter {
  readonly g: GraphBuilder;
  private readonly params: Map<string, Parameter>;
  constructor(
    readonly model: TransformerModel,
    opset: number,
  ) {
    this.g = new GraphBuilder(opset);
    this.params = new Map(model.parameters.map((p) => [p.name, p]));
  }

  param(name: string): Parameter {
    const param = this.params.get(name);
    if (!param) throw new Error(`internal error: the model has no parameter ${name}`);
    return param;
  }

  /** x [..., in] -> x W^T + b [..., out] for the Linear `prefix` (float or int8 weights). */
  linear(x: string, prefix: string): string {
    const weight = this.param(`${prefix}.weight`);
    const bias = this.param(`${prefix}.bias`);
    const [out, inputs] = weight.shape;
    const b = this.g.floats(`${prefix}.bias`, [out], bias.data);
    if (weight.int8) {
      const w = this.g.tensor(
        `${prefix}.weight_quantized`,
        ONNX_TYPES.INT8,
        [inputs, out],
        transposed(weight.int8.values, out, inputs),
      );
      const scale = this.g.floats(`${prefix}.weight_scale`, [out], weight.int8.scales);
      return this.g.op("Add", [this.quantizedMatMul(x, w, scale, out, prefix), b]);
    }
    const w = this.g.floats(
      `${prefix}.weight`,
      [inputs, out],
      transposed(weight.data, out, inputs),
    );
    return this.g.op("Add", [this.g.op("MatMul", [x, w]), b]);
  }

  /** onnxruntime's dynamic quantization of x @ w: x to uint8 per tensor, w int8 per column. */
  quantizedMatMul(x: string, w: string, wScale: string, columns: number, prefix: string): string {
    const [xq, xScale, xZero] = this.g.node("DynamicQuantizeLinear", [x], {}, 3);
    const wZero = this.g.tensor(
      `${prefix}.weight_zero_point`,
      ONNX_TYPES.INT8,
      [columns],
      new Int8Array(columns),
    );
    const product = this.g.op("MatMulInteger", [xq, w, xZero, wZero]);
    const float = this.g.op("Cast", [product], { to: ONNX_TYPES.FLOAT });
    return this.g.op("Mul", [float, this.g.op("Mul", [xScale, wScale])]);
  }

  layerNorm(x: string, prefix: string): string {
    const eps = this.model.config.layerNormEps;
    const weight = this.param(`${prefix}.weight`);
    const scale = this.g.floats(`${prefix}.weight`, weight.shape, weight.data);
    const bias = this.g.floats(`${prefix}.bias`, weight.shape, this.param(`${prefix}.bias`).data);
    if (this.g.opset >= 17) {
      return this.g.op("LayerNormalization", [x, scale, bias], {
        axis: -1,
        epsilon: { float: eps },
      });
    }
    const mean = this.g.op("ReduceMean", [x], { axes: [-1] });
    const centred = this.g.op("Sub", [x, mean]);
    const variance = this.g.op("ReduceMean", [this.g.op("Mul", [centred, centred])], {
      axes: [-1],
    });
    const std = this.g.op("Sqrt", [this.g.op("Add", [variance, this.g.constant(eps)])]);
    return this.g.op("Add", [this.g.op("Mul", [this.g.op("Div", [centred, std]), scale]), bias]);
  }

  activation(x: string, kind: Activation | "tanh"): string {
    const g = this.g;
    switch (kind) {
      case "relu":
        return g.op("Relu", [x]);
      case "tanh":
        return g.op("Tanh", [x]);
      case "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x])]);
      case "gelu": {
        // 0.5 x (1 + erf(x / sqrt 2)), as torch's exact gelu
        const erf = g.op("Erf", [g.op("Mul", [x, this.g.constant(Math.SQRT1_2)])]);
        const half = g.op("Mul", [x, this.g.constant(0.5)]);
        return g.op("Mul", [half, g.op("Add", [erf, this.g.constant(1)])]);
      }
      case "gelu_new": {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        const cube = g.op("Mul", [g.op("Mul", [x, x]), x]);
        const inner = g.op("Add", [x, g.op("Mul", [cube, this.g.constant(0.044715)])]);
        const t = g.op("Tanh", [g.op("Mul", [inner, this.g.constant(Math.sqrt(2 / Math.PI))])]);
        const half = g.op("Mul", [x, this.g.constant(0.5)]);
        return g.op("Mul", [half, g.op("Add", [t, this.g.constant(1)])]);
      }
    }
  }

  /** ids [...] -> rows of the embedding table `name` [..., hidden] (int8 rows dequantized). */
  embedding(ids: string, name: string): string {
    const table = this.param(`${name}.weight`);
    const [rows, cols] = table.shape;
    if (table.int8) {
      const values = this.g.tensor(
        `${name}.weight_quantized`,
        ONNX_TYPES.INT8,
        [rows, cols],
        table.int8.values,
      );
      const scales = this.g.floats(`${name}.weight_scale`, [rows, 1], table.int8.scales);
      const picked = this.g.op("Cast", [this.g.op("Gather", [values, ids])], {
        to: ONNX_TYPES.FLOAT,
      });
      return this.g.op("Mul", [picked, this.g.op("Gather", [scales, ids])]);
    }
    const weight = this.g.floats(`${name}.weight`, [rows, cols], table.data);
    return this.g.op("Gather", [weight, ids]);
  }
}

export interface OnnxGraph {
  /** A ModelProto as a plain object, for io/onnx-proto.ts's encodeModelProto. */
  model: Record<string, unknown>;
  inputs: string[];
  outputs: string[];
}

function valueInfo(name: string, type: OnnxType, dims: (string | number)[]) {
  const dim = dims.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: type, shape: { dim } } } };
}

/** The ONNX graph of `model` at `opset`. */
export function onnxGraph(model: TransformerModel, opset = ONNX_OPSETS.default): OnnxGraph {
  if (!Number.isInteger(opset) || opset < ONNX_OPSETS.min || opset > ONNX_OPSETS.max) {
    throw new UserError(
      `--opset must be between ${ONNX_OPSETS.min} and ${ONNX_OPSETS.max}, got ${opset}`,
    );
  }
  const w = new OnnxWriter(model, opset);
  const { g } = w;
  const { config, head } = model;
  const keys = architectureKeys(config);
  const prefix = head === "base" ? "" : keys.prefix;
  const names = keys.encoder(prefix);
  const isBert = config.modelType === "bert";
  const choices = head === "multiple-choice";
  const h = config.hiddenSize;
  const heads = config.numHeads;

  const inputNames = ["input_ids", "attention_mask", ...(isBert ? ["token_type_ids"] : [])];
  const inputDims = choices
    ? ["batch_size", "num_choices", "sequence_length"]
    : ["batch_size", "sequence_length"];
  // Multiple choice runs [batch * choices, sequence]; the logits are folded back at the end.
  let shapeOfInput = "";
  const flat = (name: string) => {
    if (!choices) return name;
    shapeOfInput ||= g.op("Shape", ["input_ids"]);
    const sequence = g.op("Slice", [shapeOfInput, g.ints([2]), g.ints([3])]);
    const target = g.op("Concat", [g.ints([-1]), sequence], { axis: 0 });
    return g.op("Reshape", [name, target]);
  };
  const ids = flat("input_ids");
  const mask = flat("attention_mask");

  // Embeddings: words + positions (+ token types), LayerNorm.
  const sequenceLength = g.op("Gather", [g.op("Shape", [ids]), g.ints([1])]);
  const positions = g.op("Unsqueeze", [
    g.op("Range", [
      g.ints([0], true),
      g.op("Squeeze", [sequenceLength, g.ints([0])]),
      g.ints([1], true),
    ]),
    g.ints([0]),
  ]);
  let sum = g.op("Add", [
    w.embedding(ids, names.wordEmbeddings),
    w.embedding(positions, names.positionEmbeddings),
  ]);
  if (names.tokenTypeEmbeddings) {
    sum = g.op("Add", [sum, w.embedding(flat("token_type_ids"), names.tokenTypeEmbeddings)]);
  }
  let x = w.layerNorm(sum, names.embeddingNorm);

  // Attention bias: 0 at real keys, float32's lowest at padding, [batch, 1, 1, sequence].
  const maskFloat = g.op("Cast", [mask], { to: ONNX_TYPES.FLOAT });
  const bias = g.op("Unsqueeze", [
    g.op("Mul", [g.op("Sub", [g.constant(1), maskFloat]), g.constant(-3.4028234663852886e38)]),
    g.ints([1, 2]),
  ]);
  const split = g.ints([0, 0, heads, h / heads]);
  const merged = g.ints([0, 0, h]);
  const toHeads = (t: string, perm: number[]) =>
    g.op("Transpose", [g.op("Reshape", [t, split])], { perm });
  for (let i = 0; i < config.numLayers; i++) {
    const layer = names.layer(i);
    const q = toHeads(w.linear(x, layer.query), [0, 2, 1, 3]);
    const k = toHeads(w.linear(x, layer.key), [0, 2, 3, 1]);
    const v = toHeads(w.linear(x, layer.value), [0, 2, 1, 3]);
    const scores = g.op("Mul", [g.op("MatMul", [q, k]), g.constant(1 / Math.sqrt(h / heads))]);
    const probs = g.op("Softmax", [g.op("Add", [scores, bias])], { axis: -1 });
    const context = g.op("Reshape", [
      g.op("Transpose", [g.op("MatMul", [probs, v])], { perm: [0, 2, 1, 3] }),
      merged,
    ]);
    const attended = w.layerNorm(
      g.op("Add", [w.linear(context, layer.attentionOutput), x]),
      layer.attentionNorm,
    );
    const inner = w.activation(w.linear(attended, layer.ffnIn), config.activation);
    x = w.layerNorm(g.op("Add", [w.linear(inner, layer.ffnOut), attended]), layer.outputNorm);
  }

  // The head.
  const outputs: { name: string; value: string; dims: (string | number)[] }[] = [];
  const perToken = [...inputDims.slice(0, 1), "sequence_length"];
  const firstToken = () =>
    g.op("Gather", [x, g.ints([0], true)], {
      axis: 1,
    });
  // [batch, sequence, hidden] -> the mean over attended tokens [batch, hidden], the count
  // clamped at 1e-9 as sentence-transformers does.
  const meanOverTokens = (states: string) => {
    const weights = g.op("Unsqueeze", [maskFloat, g.ints([2])]);
    const sum = g.op("ReduceSum", [g.op("Mul", [states, weights]), g.ints([1])], { keepdims: 0 });
    const count = g.op("ReduceSum", [weights, g.ints([1])], { keepdims: 0 });
    return g.op("Div", [sum, g.op("Max", [count, g.constant(1e-9)])]);
  };
  // [batch, hidden] rows to unit length, the norm clamped at 1e-12 as torch's normalize.
  const normalized = (rows: string) => {
    const squares = g.op("ReduceSum", [g.op("Mul", [rows, rows]), g.ints([1])], { keepdims: 1 });
    return g.op("Div", [rows, g.op("Max", [g.op("Sqrt", [squares]), g.constant(1e-12)])]);
  };
  const dense = (input: string, kind: "tanh" | "relu") =>
    w.activation(w.linear(input, keys.firstTokenDense(prefix)), kind);
  switch (head) {
    case "base":
      outputs.push({ name: "last_hidden_state", value: x, dims: [...perToken, h] });
      if (isBert) {
        outputs.push({
          name: "pooler_output",
          value: dense(firstToken(), "tanh"),
          dims: ["batch_size", h],
        });
      }
      break;
    case "masked-lm": {
      const mlm = keys.maskedLm;
      const t = w.layerNorm(w.activation(w.linear(x, mlm.dense), config.activation), mlm.norm);
      const word = w.param(`${names.wordEmbeddings}.weight`);
      const [vocab] = word.shape;
      const decoderBias = g.floats(mlm.bias, [vocab], w.param(mlm.bias).data);
      let logits: string;
      if (word.int8) {
        const values = g.tensor(
          "decoder.weight_quantized",
          ONNX_TYPES.INT8,
          [h, vocab],
          transposed(word.int8.values, vocab, h),
        );
        const scale = g.floats("decoder.weight_scale", [vocab], word.int8.scales);
        logits = w.quantizedMatMul(t, values, scale, vocab, "decoder");
      } else {
        // The decoder is tied to the word embeddings: Gemm reads them transposed, no copy.
        const rows = g.op("Reshape", [t, g.ints([-1, h])]);
        const table = `${names.wordEmbeddings}.weight`;
        const product = g.op("Gemm", [rows, table], { transB: 1 });
        logits = g.op("Reshape", [
          product,
          g.op(
            "Concat",
            [g.op("Slice", [g.op("Shape", [x]), g.ints([0]), g.ints([2])]), g.ints([vocab])],
            { axis: 0 },
          ),
        ]);
      }
      outputs.push({
        name: "logits",
        value: g.op("Add", [logits, decoderBias]),
        dims: [...perToken, vocab],
      });
      break;
    }
    case "sequence-classification":
    case "multiple-choice": {
      if (head === "sequence-classification" && config.classifierPooling !== null) {
        // SetFit's head (heads.ts NormalizedEmbeddingHead): pool, L2-normalise, classify.
        const unit = normalized(
          config.classifierPooling === "cls" ? firstToken() : meanOverTokens(x),
        );
        const logits = w.linear(unit, "classifier");
        outputs.push({ name: "logits", value: logits, dims: ["batch_size", config.numLabels] });
        break;
      }
      const pooled = dense(firstToken(), isBert ? "tanh" : "relu");
      let logits = w.linear(pooled, "classifier");
      if (choices) {
        const count = g.op("Slice", [shapeOfInput, g.ints([1]), g.ints([2])]);
        const target = g.op("Concat", [g.ints([-1]), count], { axis: 0 });
        logits = g.op("Reshape", [logits, target]);
        outputs.push({ name: "logits", value: logits, dims: ["batch_size", "num_choices"] });
      } else {
        outputs.push({ name: "logits", value: logits, dims: ["batch_size", config.numLabels] });
      }
      break;
    }
    case "token-classification":
      outputs.push({
        name: "logits",
        value: w.linear(x, "classifier"),
        dims: [...perToken, config.numLabels],
      });
      break;
    case "question-answering": {
      const both = w.linear(x, "qa_outputs");
      for (const [index, name] of ["start_logits", "end_logits"].entries()) {
        const at = g.ints([index], true);
        outputs.push({ name, value: g.op("Gather", [both, at], { axis: 2 }), dims: perToken });
      }
      break;
    }
  }
  // Name each output as Hugging Face's exports do.
  for (const output of outputs) g.nodes.push(identity(output.value, output.name));

  const graph = {
    name: model.architecture,
    node: g.nodes,
    initializer: g.initializers,
    input: inputNames.map((name) => valueInfo(name, ONNX_TYPES.INT64, inputDims)),
    output: outputs.map((o) => valueInfo(o.name, ONNX_TYPES.FLOAT, o.dims)),
  };
  return {
    model: {
      ir_version: IR_VERSION,
      producer_name: "distilbert-ts",
      opset_import: [{ domain: "", version: opset }],
      graph,
    },
    inputs: inputNames,
    outputs: outputs.map((o) => o.name),
  };
}

function identity(from: string, to: string) {
  return { op_type: "Identity", name: `output_${to}`, input: [from], output: [to], attribute: [] };
}
