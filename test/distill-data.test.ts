import assert from "node:assert/strict";
import { test } from "node:test";
import {
  IGNORE_INDEX,
  Masker,
  packCorpus,
  RowSchedule,
  specialIdsOf,
  tokenCounts,
} from "../src/distill/mlm-data.js";
import { Rng } from "../src/models/rng.js";
import { loadTokenizer } from "../src/tokenizer/index.js";

const tokenizer = loadTokenizer("models/bert-mini-sotu");
const LINES = [
  "The president shall from time to time give to the Congress information of the state of the union.",
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse.",
  "We must reduce the federal deficit and balance the budget, said the whale to the senators of the republic.",
];

test("packing cuts the token stream into [CLS] ... [SEP] rows, the last one padded", () => {
  const rows = packCorpus(LINES, tokenizer, 16);
  const stream = LINES.flatMap(
    (line) => tokenizer.encode(line, null, { addSpecialTokens: false }).ids,
  );
  assert.equal(rows.count, Math.ceil(stream.length / 14));
  const unpacked: number[] = [];
  for (let r = 0; r < rows.count; r++) {
    const row = [...rows.ids.subarray(r * 16, (r + 1) * 16)];
    assert.equal(row[0], tokenizer.clsTokenId);
    const sep = row.indexOf(tokenizer.sepTokenId);
    assert.ok(sep > 0);
    assert.ok(row.slice(sep + 1).every((id) => id === tokenizer.padTokenId));
    if (r < rows.count - 1) assert.equal(sep, 15);
    unpacked.push(...row.slice(1, sep));
  }
  assert.deepEqual(unpacked, stream);
});

function maskingStatistics(smoothing: number) {
  const rows = packCorpus(LINES.concat(LINES, LINES, LINES), tokenizer, 32);
  const counts = tokenCounts(rows, tokenizer.vocabSize);
  const masker = Masker.forTokenizer(tokenizer, 0.15, smoothing, counts);
  const rng = new Rng(7);
  const stats = { real: 0, chosen: 0, mask: 0, random: 0, kept: 0, specials: 0 };
  const chosenByToken = new Map<number, number>();
  for (let batch = 0; batch < 400; batch++) {
    const { inputIds, labels, attentionMask } = masker.mask(rows.ids, tokenizer.padTokenId, rng);
    for (let i = 0; i < rows.ids.length; i++) {
      const id = rows.ids[i];
      const special = specialIdsOf(tokenizer).includes(id);
      assert.equal(attentionMask[i], id === tokenizer.padTokenId ? 0 : 1);
      if (!special) stats.real += 1;
      if (labels[i] === IGNORE_INDEX) {
        assert.equal(inputIds[i], id);
        continue;
      }
      if (special) stats.specials += 1;
      assert.equal(labels[i], id);
      stats.chosen += 1;
      chosenByToken.set(id, (chosenByToken.get(id) ?? 0) + 1);
      if (inputIds[i] === tokenizer.maskTokenId) stats.mask += 1;
      else if (inputIds[i] === id) stats.kept += 1;
      else stats.random += 1;
    }
  }
  return { stats, counts, chosenByToken };
}

test("masking: 15% of real tokens, 80/10/10, specials and padding never chosen", () => {
  const { stats } = maskingStatistics(0);
  assert.equal(stats.specials, 0);
  assert.ok(Math.abs(stats.chosen / stats.real - 0.15) < 0.005, `${stats.chosen / stats.real}`);
  assert.ok(Math.abs(stats.mask / stats.chosen - 0.8) < 0.01);
  // a random token is sometimes the original one: kept gets ~10% + 10%/vocab
  assert.ok(Math.abs(stats.random / stats.chosen - 0.1) < 0.01);
  assert.ok(Math.abs(stats.kept / stats.chosen - 0.1) < 0.01);
});

test("smoothing shifts masking towards rare tokens", () => {
  const the = tokenizer.tokenToId("the") as number;
  const whale = tokenizer.tokenToId("whale") as number;
  const rate = (smoothing: number, id: number) => {
    const { counts, chosenByToken } = maskingStatistics(smoothing);
    return (chosenByToken.get(id) ?? 0) / (counts[id] * 400);
  };
  const uniformRatio = rate(0, whale) / rate(0, the);
  const smoothRatio = rate(0.7, whale) / rate(0.7, the);
  assert.ok(uniformRatio > 0.7 && uniformRatio < 1.4, `uniform ${uniformRatio}`);
  assert.ok(smoothRatio > 2, `smoothed ${smoothRatio}`);
  assert.equal(maskingStatistics(0.7).stats.specials, 0);
});

test("an epoch's batches depend only on the seed and the epoch, and see every row once", () => {
  const seqLen = 4;
  const count = 10;
  const rows = {
    ids: Int32Array.from({ length: count * seqLen }, (_, i) => Math.floor(i / seqLen)),
    count,
    seqLen,
  };
  const a = new RowSchedule(rows, 3, 5);
  assert.equal(a.batchesPerEpoch, 3);
  for (const epoch of [0, 1, 3, 0]) {
    assert.deepEqual(a.epochBatches(epoch), new RowSchedule(rows, 3, 5).epochBatches(epoch));
  }
  assert.notDeepEqual(a.epochBatches(0), a.epochBatches(1));
  const seen = new Set<number>();
  for (const batch of a.epochBatches(2)) for (const id of a.gather(batch)) seen.add(id);
  assert.equal(seen.size, 9);
  assert.deepEqual([...a.gather([7, 2])], [7, 7, 7, 7, 2, 2, 2, 2]);
});
