// `distilbert init-student`: a DistilBERT student made from a teacher's weights, as DistilBERT's
// authors initialised theirs (embeddings, every other layer, the head).

import { parseArgs } from "node:util";
import { initStudent } from "../../distill/init-student.js";
import { loadConfig } from "../../io/config.js";
import { Checkpoint } from "../../io/safetensors.js";
import { saveWeights } from "../../models/index.js";
import type { Command } from "../commands.js";
import { checkOutDir, intList, positiveInt, required } from "../options.js";

const help = `distilbert init-student --teacher DIR --layers N --out DIR [options]

Makes a DistilBERT student from a BERT or DistilBERT teacher the way DistilBERT was made: the
word and position embeddings and the embedding LayerNorm are copied (BERT's token-type embeddings
dropped), student layer i takes the weights of a chosen teacher layer, and the head is copied:
a masked-LM teacher gives a DistilBertForMaskedLM (cls.predictions.transform -> vocab_transform
and vocab_layer_norm, the decoder bias -> vocab_projector.bias, the projector tied to the word
embeddings); a sequence classifier gives a DistilBertForSequenceClassification (BERT's pooler
dense -> pre_classifier, classifier -> classifier). The output folder (config.json,
model.safetensors in float32, the teacher's tokenizer files) is ready for \`distilbert distill\`.

Options:
  --teacher DIR          the teacher's Hugging Face folder
  --layers N             the student's layer count (at most the teacher's)
  --teacher-layers LIST  which teacher layers to copy, e.g. 0,3 (default: evenly spaced keeping the
                         first and the last, round(i * (Lt - 1) / (N - 1)): 12 -> 6 gives
                         0,2,4,7,9,11 as DistilBERT)
  --fold-token-type      add the teacher's token-type-0 embedding into every position embedding,
                         so a single-segment input starts with exactly the teacher's embeddings
  --out DIR              where to write the student (a new or empty folder)
  --overwrite            write into a non-empty --out

Example:
  distilbert init-student --teacher models/bert-mini-sotu --layers 2 --out out/student-init`;

export const initStudentCommand: Command = {
  summary: "make a DistilBERT student from a teacher's layers (DistilBERT's initialisation)",
  help,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        teacher: { type: "string" },
        layers: { type: "string" },
        "teacher-layers": { type: "string" },
        "fold-token-type": { type: "boolean", default: false },
        out: { type: "string" },
        overwrite: { type: "boolean", default: false },
      },
    });
    const teacherDir = required("init-student", "teacher", values.teacher);
    const outDir = required("init-student", "out", values.out);
    checkOutDir(outDir, [teacherDir], values, false);
    const teacherLayers = intList("teacher-layers", values["teacher-layers"]);
    const layers =
      positiveInt("layers", values.layers) ??
      teacherLayers?.length ??
      Number(required("init-student", "layers", undefined));
    const student = initStudent(
      loadConfig(teacherDir),
      Checkpoint.open(teacherDir),
      { layers, teacherLayers, foldTokenType: values["fold-token-type"] },
      teacherDir,
    );
    saveWeights(student.config, student.weights, outDir, { tokenizerFrom: teacherDir });
    let parameters = 0;
    for (const tensor of student.weights.values()) parameters += tensor.data.length;
    process.stdout.write(
      `${student.config.architectures[0]} with ${layers} layers from teacher layers [${student.teacherLayers.join(", ")}]${values["fold-token-type"] ? " (token type 0 folded into the positions)" : ""}: ${(parameters / 1e6).toFixed(2)}M parameters, written to ${outDir}\n`,
    );
    return 0;
  },
};
