// `distilbert forward`: one batch through a model, every output written under Hugging Face's
// names, for comparing a port with PyTorch tensor by tensor.

import { parseArgs } from "node:util";
import { UserError } from "../../errors.js";
import { SafetensorsFile, type TensorToWrite, writeSafetensors } from "../../io/safetensors.js";
import { HEAD_KINDS, loadModel } from "../../models/index.js";
import type {
  HeadKind,
  Model,
  ModelInputs,
  ModelLabels,
  ModelOutputs,
} from "../../models/types.js";
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../../tensor/index.js";
import type { Command } from "../commands.js";
import { checkOutFile, dtypeChoice, dtypeHelp } from "../options.js";

const help = `distilbert forward --model DIR --inputs IN.safetensors --out OUT.safetensors [options]

Runs one batch through a Hugging Face DistilBERT or BERT model folder and writes every output as
float32 under the name Hugging Face gives it, so a port can be compared with PyTorch tensor by
tensor. The model class comes from config.json's "architectures" (or --head).

IN.safetensors holds (int64 or int32):
  input_ids          [batch, seq], or [batch, choices, seq] for multiple choice
  attention_mask     same shape; 1 = token, 0 = padding (default: all ones)
  token_type_ids     same shape, BERT only (default: zeros)
and, to get a loss, labels:
  label.labels       integer: class ids, token labels or MLM targets (-100 ignored), choice ids;
                     float32: regression targets or multi-label 0/1 targets
  label.start_positions, label.end_positions   question answering, [batch]

OUT.safetensors gets: last_hidden_state and pooler_output (base models), logits, start_logits and
end_logits (heads), hidden_states.0 (embeddings output) ... hidden_states.N, attentions.0 ...
(batch, heads, query, key), and loss [1] when labels were given.

Options:
  --model DIR              model folder (config.json + model.safetensors)
  --inputs FILE            the batch, as above
  --out FILE               where to write the outputs (written atomically)
  --hidden-states          also write every layer's hidden states
  --attentions             also write every layer's attention probabilities
  --grads FILE             also write the gradient of the loss for every parameter, under its
                           Hugging Face key (needs labels; dropout off, as PyTorch in eval mode)
  --head KIND              build this head instead: ${HEAD_KINDS.join(", ")}
  --backend NAME           ${BACKEND_CHOICES.join(", ")} (default auto: the fastest available)
  ${dtypeHelp(25)}

Example:
  distilbert forward --model models/bert-mini-sotu --inputs batch.safetensors \\
    --out outputs.safetensors --hidden-states --attentions`;

const INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"];

function readInputs(file: SafetensorsFile, multipleChoice: boolean): ModelInputs {
  if (!file.has("input_ids")) {
    throw new UserError(
      `${file.path} has no 'input_ids' tensor (names: ${file.names().join(", ")})`,
    );
  }
  const shape = file.info("input_ids").shape;
  const expected = multipleChoice ? "[batch, choices, seq]" : "[batch, seq]";
  if (shape.length !== (multipleChoice ? 3 : 2)) {
    throw new UserError(
      `${file.path}: input_ids has shape [${shape.join(", ")}]; this model takes ${expected}`,
    );
  }
  for (const name of INPUT_NAMES.slice(1)) {
    if (!file.has(name)) continue;
    const other = file.info(name).shape;
    if (other.join() !== shape.join()) {
      throw new UserError(
        `${file.path}: ${name} has shape [${other.join(", ")}] but input_ids has [${shape.join(", ")}]`,
      );
    }
  }
  const inputs: ModelInputs = {
    inputIds: file.int32("input_ids"),
    batch: shape[0],
    seq: shape[shape.length - 1],
  };
  if (multipleChoice) inputs.choices = shape[1];
  if (file.has("attention_mask")) {
    inputs.attentionMask = Float32Array.from(file.int32("attention_mask"));
  }
  if (file.has("token_type_ids")) inputs.tokenTypeIds = file.int32("token_type_ids");
  return inputs;
}

function readLabels(file: SafetensorsFile): ModelLabels | undefined {
  const labels: ModelLabels = {};
  if (file.has("label.labels")) {
    const dtype = file.info("label.labels").dtype;
    if (dtype === "F32" || dtype === "F16" || dtype === "BF16") {
      labels.floatLabels = file.float32("label.labels");
    } else {
      labels.labels = file.int32("label.labels");
    }
  }
  if (file.has("label.start_positions") !== file.has("label.end_positions")) {
    throw new UserError(`${file.path}: give both label.start_positions and label.end_positions`);
  }
  if (file.has("label.start_positions")) {
    labels.startPositions = file.int32("label.start_positions");
    labels.endPositions = file.int32("label.end_positions");
  }
  return Object.keys(labels).length > 0 ? labels : undefined;
}

function outputTensors(
  model: Model,
  inputs: ModelInputs,
  outputs: ModelOutputs,
): Record<string, TensorToWrite> {
  const { batch, seq } = inputs;
  const sequences = batch * (inputs.choices ?? 1);
  const hidden = model.config.hiddenSize;
  const f32 = (shape: number[], data: Float32Array): TensorToWrite => ({
    dtype: "F32",
    shape,
    data,
  });
  const tensors: Record<string, TensorToWrite> = {};
  if (model.head === "base") {
    tensors.last_hidden_state = f32([sequences, seq, hidden], outputs.lastHiddenState);
  }
  if (outputs.poolerOutput) tensors.pooler_output = f32([batch, hidden], outputs.poolerOutput);
  if (outputs.logits) {
    const logits = outputs.logits;
    const shapes: Partial<Record<HeadKind, number[]>> = {
      "masked-lm": [batch, seq, model.config.vocabSize],
      "sequence-classification": [batch, model.config.numLabels],
      "token-classification": [batch, seq, model.config.numLabels],
      "multiple-choice": [batch, inputs.choices ?? 1],
    };
    tensors.logits = f32(shapes[model.head] ?? [logits.length], logits);
  }
  if (outputs.startLogits) tensors.start_logits = f32([batch, seq], outputs.startLogits);
  if (outputs.endLogits) tensors.end_logits = f32([batch, seq], outputs.endLogits);
  outputs.hiddenStates?.forEach((state, i) => {
    tensors[`hidden_states.${i}`] = f32([sequences, seq, hidden], state);
  });
  outputs.attentions?.forEach((probs, i) => {
    tensors[`attentions.${i}`] = f32([sequences, model.config.numHeads, seq, seq], probs);
  });
  if (outputs.loss !== undefined) tensors.loss = f32([1], Float32Array.of(outputs.loss));
  return tensors;
}

async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: "string" },
      inputs: { type: "string" },
      out: { type: "string" },
      "hidden-states": { type: "boolean" },
      attentions: { type: "boolean" },
      grads: { type: "string" },
      head: { type: "string" },
      backend: { type: "string", default: "auto" },
      dtype: { type: "string" },
    },
  });
  for (const required of ["model", "inputs", "out"] as const) {
    if (!values[required]) {
      throw new UserError(`forward needs --${required} (see distilbert forward --help)`);
    }
  }
  const backendName = values.backend as BackendChoice;
  if (!BACKEND_CHOICES.includes(backendName)) {
    throw new UserError(
      `--backend must be one of ${BACKEND_CHOICES.join(", ")}, got '${values.backend}'`,
    );
  }
  const head = values.head as HeadKind | undefined;
  if (head !== undefined && !HEAD_KINDS.includes(head)) {
    throw new UserError(`--head must be one of ${HEAD_KINDS.join(", ")}, got '${head}'`);
  }
  checkOutFile("out", values.out as string, [values.model as string, values.inputs as string]);
  const file = SafetensorsFile.open(values.inputs as string);
  const backend = await createBackend(backendName);
  const dtype = dtypeChoice(values.dtype);
  const model = loadModel(values.model as string, { backend, head, dtype });
  const inputs = readInputs(file, model.head === "multiple-choice");
  const labels = readLabels(file);
  if (values.grads && !labels) {
    throw new UserError(
      `--grads needs labels in ${file.path} (label.labels, or label.start_positions and label.end_positions)`,
    );
  }
  const outputs = model.forward(inputs, labels, {
    outputHiddenStates: values["hidden-states"],
    outputAttentions: values.attentions,
    train: values.grads !== undefined,
    dropout: false,
  });
  if (labels && outputs.loss === undefined) {
    throw new UserError(`the labels in ${file.path} do not apply to a ${model.architecture}`);
  }
  writeSafetensors(values.out as string, outputTensors(model, inputs, outputs));
  if (values.grads) {
    model.backward();
    const grads: Record<string, TensorToWrite> = {};
    for (const param of model.parameters) {
      grads[param.name] = { dtype: "F32", shape: param.shape, data: param.grad as Float32Array };
    }
    writeSafetensors(values.grads, grads);
  }
  return 0;
}

export const forward: Command = {
  summary: "run one batch through a model and write every output (and gradients) as safetensors",
  help,
  run,
};
