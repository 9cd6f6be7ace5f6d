/** The frame posteriors (a heat map, pdfs bottom to top) and the best path's words over time, on a canvas. */
import type { Recognition } from '../recognizer.js';

export function drawRecognition(canvas: HTMLCanvasElement, r: Recognition): void {
  const g = canvas.getContext('2d');
  if (!g) return;
  const W = canvas.width, H = canvas.height;
  const band = 28;
  const { numFrames: T, numPdfs: P, data } = r.logPosteriors;
  g.fillStyle = '#fff';
  g.fillRect(0, 0, W, H);
  if (T === 0) return;
  const img = g.createImageData(W, H - band);
  for (let x = 0; x < W; x++) {
    const t = Math.min(T - 1, Math.floor((x * T) / W));
    for (let y = 0; y < H - band; y++) {
      const p = Math.min(P - 1, Math.floor(((H - band - 1 - y) * P) / (H - band)));
      const v = Math.exp(data[t * P + p]);
      const c = Math.round(255 * (1 - Math.min(1, v)));
      const i = 4 * (y * W + x);
      img.data[i] = c;
      img.data[i + 1] = c;
      img.data[i + 2] = 255 - Math.round((255 - c) * 0.3);
      img.data[i + 3] = 255;
    }
  }
  g.putImageData(img, 0, 0);
  g.font = '13px system-ui, sans-serif';
  g.textBaseline = 'middle';
  r.timed.forEach((w, i) => {
    const x0 = (w.startFrame / T) * W, x1 = ((w.endFrame + 1) / T) * W;
    g.fillStyle = i % 2 ? '#3b78e7' : '#1a4fa8';
    g.fillRect(x0, H - band + 3, Math.max(1, x1 - x0), band - 6);
    g.fillStyle = '#fff';
    g.fillText(w.word, x0 + 3, H - band / 2, Math.max(1, x1 - x0 - 4));
  });
  g.fillStyle = '#333';
  g.fillText(`${r.durationSec.toFixed(2)} s, ${T} frames, ${P} pdfs`, 6, 12);
}
