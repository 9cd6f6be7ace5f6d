// Usage: node --conditions=@kdasr/source --import tsx tools/acoustic/true-labels.ts LANG_DIR ALIGNMENTS.jsonl FEATS_DIR OUT_DIR
// Frame labels for the test split from the synthesiser's own phone alignments (ground truth), as kdasr align writes them.
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { FeatureArchive } from '@kdasr/audio-features';
import { StateInventory, labelsFromPhoneSegments } from '@kdasr/acoustic-models';
const [lang, ali, feats, out] = process.argv.slice(2);
const L = JSON.parse(readFileSync(`${lang}/lang.json`, 'utf8'));
const inv = new StateInventory({ phones: L.phones, statesPerPhone: L.statesPerPhone, statesPerSilence: L.statesPerSilence, silencePhones: [L.silencePhone] });
const ar = FeatureArchive.open(feats);
const fo = { sampleRateHz: 16000, frameLengthMs: 25, frameShiftMs: 10, snipEdges: true };
const lines = [];
for (const l of readFileSync(ali, 'utf8').trim().split('\n')) {
  const a = JSON.parse(l);
  if (!ar.has(a.id)) continue;
  const labels = labelsFromPhoneSegments(a.phones, ar.get(a.id).numFrames, fo, inv, { fillPhone: 'sil', where: a.id });
  lines.push(JSON.stringify({ id: a.id, labels: Array.from(labels) }));
}
writeFileSync(`${out}/labels.jsonl`, lines.join('\n') + '\n');
copyFileSync(`${lang}/lang.json`, `${out}/lang.json`);
console.log(lines.length);
