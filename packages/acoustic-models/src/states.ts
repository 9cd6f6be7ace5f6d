/**
 * HMM state inventory: which (phone, state) pairs exist and their class ids (the DNN's output units).
 * Numbering is phone-list order, then state order — exactly decoding's `monophonePdfs` — so a model trained on
 * these ids can be decoded with a TransitionModel whose topology has the same state counts.
 */
export interface StateInventoryConfig {
  /** Phones, silence included, in the order that fixes class ids. */
  phones: string[];
  /** States per non-silence phone (Kaldi: 3, left to right). */
  statesPerPhone?: number;
  /** States per silence phone (Kaldi: 5). */
  statesPerSilence?: number;
  silencePhones?: string[];
  /** Per-phone state counts that override the two defaults. */
  overrides?: Record<string, number>;
}

export interface StateInventoryJson {
  phones: string[];
  numStates: number[];
  silencePhones: string[];
}

/** The most HMM states a saved inventory may give a phone (Kaldi's topologies use 1 to 5). */
const MAX_SAVED_STATES = 64;

export class StateInventory {
  readonly phones: readonly string[];
  readonly silencePhones: readonly string[];
  /** States of each phone, in phone order. */
  readonly numStates: readonly number[];
  readonly numClasses: number;
  private readonly base: Int32Array;
  private readonly index = new Map<string, number>();
  private readonly classPhone: Int32Array;
  private readonly classState: Int32Array;

  constructor(config: StateInventoryConfig) {
    const { phones, statesPerPhone = 3, statesPerSilence = 5, silencePhones = ['sil'], overrides = {} } = config;
    if (!Array.isArray(phones) || phones.length === 0) throw new Error('StateInventory: phones must be a non-empty list; pass the corpus phone set');
    phones.forEach((p, i) => {
      if (this.index.has(p)) throw new Error(`StateInventory: phone "${p}" is listed twice (positions ${this.index.get(p)} and ${i}); list each phone once`);
      this.index.set(p, i);
    });
    for (const [name, n] of [['statesPerPhone', statesPerPhone], ['statesPerSilence', statesPerSilence], ...Object.entries(overrides).map(([p, n]) => [`overrides.${p}`, n] as const)] as const)
      if (!Number.isInteger(n) || (n as number) < 1) throw new Error(`StateInventory: ${name} must be a positive integer, got ${n}`);
    for (const p of Object.keys(overrides)) if (!this.index.has(p)) throw new Error(`StateInventory: overrides.${p} names a phone not in phones; remove it or add the phone`);
    const sil = new Set(silencePhones);
    this.phones = [...phones];
    this.silencePhones = silencePhones.filter((p) => this.index.has(p));
    this.numStates = phones.map((p) => overrides[p] ?? (sil.has(p) ? statesPerSilence : statesPerPhone));
    this.base = new Int32Array(phones.length);
    let n = 0;
    this.numStates.forEach((k, i) => {
      this.base[i] = n;
      n += k;
    });
    this.numClasses = n;
    this.classPhone = new Int32Array(n);
    this.classState = new Int32Array(n);
    this.numStates.forEach((k, i) => {
      for (let s = 0; s < k; s++) {
        this.classPhone[this.base[i] + s] = i;
        this.classState[this.base[i] + s] = s;
      }
    });
  }

  phoneIndex(phone: string): number {
    const i = this.index.get(phone);
    if (i === undefined) throw new Error(`StateInventory: unknown phone "${phone}"; known: ${this.phones.slice(0, 12).join(' ')}${this.phones.length > 12 ? ' ...' : ''}`);
    return i;
  }

  has(phone: string): boolean {
    return this.index.has(phone);
  }

  isSilence(phone: string): boolean {
    return this.silencePhones.includes(phone);
  }

  statesOf(phone: string): number {
    return this.numStates[this.phoneIndex(phone)];
  }

  /** Class id of (phone, state). */
  classId(phone: string, state: number): number {
    const p = this.phoneIndex(phone);
    if (!(Number.isInteger(state) && state >= 0 && state < this.numStates[p]))
      throw new Error(`StateInventory: phone "${phone}" has states 0..${this.numStates[p] - 1}, got state ${state}`);
    return this.base[p] + state;
  }

  phoneOfClass(c: number): string {
    return this.phones[this.classPhone[c]];
  }

  stateOfClass(c: number): number {
    return this.classState[c];
  }

  /** Readable class name, e.g. "ah_1". */
  className(c: number): string {
    return `${this.phoneOfClass(c)}_${this.stateOfClass(c)}`;
  }

  /** Context-independent pdf mapping, structurally decoding's PdfMapper (pass it to TransitionModel). */
  pdfMapper(): { numPdfs: number; pdfOf: (phone: string, left: string | null, right: string | null, state: number) => number } {
    return { numPdfs: this.numClasses, pdfOf: (phone, _l, _r, state) => this.classId(phone, state) };
  }

  toJSON(): StateInventoryJson {
    return { phones: [...this.phones], numStates: [...this.numStates], silencePhones: [...this.silencePhones] };
  }

  static fromJSON(j: StateInventoryJson): StateInventory {
    if (!j || !Array.isArray(j.phones) || !Array.isArray(j.numStates) || j.phones.length !== j.numStates.length)
      throw new Error('StateInventory.fromJSON: expected {phones[], numStates[] of the same length, silencePhones[]}');
    if (!j.phones.every((p) => typeof p === 'string' && p.length > 0)) throw new Error('StateInventory.fromJSON: phones must be non-empty strings');
    // A saved count is read back, so cap it: a corrupt 1e9 must not allocate class tables of that size.
    const bad = j.numStates.findIndex((n) => !(Number.isInteger(n) && n >= 1 && n <= MAX_SAVED_STATES));
    if (bad >= 0) throw new Error(`StateInventory.fromJSON: numStates[${bad}] is ${JSON.stringify(j.numStates[bad])}; each phone has 1 to ${MAX_SAVED_STATES} states`);
    if (!Array.isArray(j.silencePhones) || !j.silencePhones.every((p) => typeof p === 'string')) throw new Error('StateInventory.fromJSON: silencePhones must be a list of phone names');
    return new StateInventory({ phones: j.phones, silencePhones: j.silencePhones, overrides: Object.fromEntries(j.phones.map((p, i) => [p, j.numStates[i]])) });
  }
}
