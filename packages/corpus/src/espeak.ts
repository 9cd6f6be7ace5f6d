/**
 * espeak-ng's C library through koffi, in synchronous mode with phoneme events, so every synthesised
 * utterance comes with the exact sample at which each phoneme and word starts.
 *
 * libespeak-ng keeps process-global state and is not thread-safe: one Espeak per process (getEspeak()),
 * and parallel synthesis means one child process per core. Its output also depends slightly on what the
 * process synthesised before (see setVoice), which matters for reproducibility.
 */
import { existsSync } from 'node:fs';
import koffi from 'koffi';

const AUDIO_OUTPUT_SYNCHRONOUS = 2;
const INITIALIZE_PHONEME_EVENTS = 1;
const CHARS_UTF8 = 1;
const POS_CHARACTER = 1;
const PARAM_RATE = 1;
const PARAM_PITCH = 3;
const PARAM_RANGE = 4;

export const EVENT = { LIST_TERMINATED: 0, WORD: 1, SENTENCE: 2, MARK: 3, PLAY: 4, END: 5, MSG_TERMINATED: 6, PHONEME: 7, SAMPLERATE: 8 } as const;
/** sizeof(espeak_EVENT) on 64-bit Linux; the `id` union (int | char* | char[8]) sits at offset 32. */
const EVENT_BYTES = 40;
/** Phoneme separator for espeak_TextToPhonemes: bits 8-23 of phonememode hold the character (a space). */
const PHONEME_SEPARATOR = 0x20 << 8;

export const ESPEAK_DATA_DIRS = ['/usr/lib/x86_64-linux-gnu/espeak-ng-data', '/usr/lib/aarch64-linux-gnu/espeak-ng-data', '/usr/share/espeak-ng-data'];
const LIB_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/libespeak-ng.so.1',
  '/usr/lib/aarch64-linux-gnu/libespeak-ng.so.1',
  'libespeak-ng.so.1',
  'libespeak-ng.so',
];

export interface EspeakEvent {
  type: number;
  /** Character offset (1-based, in code points as espeak counts them) of the word in the input text. */
  textPosition: number;
  length: number;
  audioPositionMs: number;
  /** Sample index (from the start of this utterance) at which the event occurs. */
  sample: number;
  /** Phoneme mnemonic for PHONEME events, word number for WORD events. */
  phoneme?: string;
  number?: number;
}

export interface SynthResult {
  samples: Int16Array;
  sampleRateHz: number;
  events: EspeakEvent[];
}

export interface VoiceSettings {
  /** espeak voice name, e.g. `en-us+m3` (base voice + variant from espeak-ng-data/voices/!v). */
  voice: string;
  /** Words per minute (espeak default 175). */
  rate?: number;
  /** Base pitch 0..100 (default 50). */
  pitch?: number;
  /** Pitch range 0..100 (default 50). */
  pitchRange?: number;
}

export class EspeakUnavailableError extends Error {}

type Fn = (...args: unknown[]) => unknown;

export class Espeak {
  readonly sampleRateHz: number;
  private readonly fns: Record<string, Fn>;
  private chunks: Int16Array[] = [];
  private events: EspeakEvent[] = [];
  private readonly callbackPtr: unknown;

  constructor() {
    let lib: ReturnType<typeof koffi.load> | null = null;
    const errors: string[] = [];
    for (const c of LIB_CANDIDATES) {
      if (c.startsWith('/') && !existsSync(c)) continue;
      try {
        lib = koffi.load(c);
        break;
      } catch (e) {
        errors.push(`${c}: ${(e as Error).message}`);
      }
    }
    if (!lib)
      throw new EspeakUnavailableError(
        `espeak-ng library not found (tried ${LIB_CANDIDATES.join(', ')}${errors.length ? '; ' + errors.join('; ') : ''}). Fix: apt-get install espeak-ng libespeak-ng1`,
      );
    const cbProto = koffi.proto('int kdasr_espeak_cb(void *wav, int numsamples, void *events)');
    this.fns = {
      initialize: lib.func('int espeak_Initialize(int output, int buflength, const char *path, int options)') as Fn,
      setCallback: lib.func('void espeak_SetSynthCallback(kdasr_espeak_cb *cb)') as Fn,
      setVoiceByName: lib.func('int espeak_SetVoiceByName(const char *name)') as Fn,
      setParameter: lib.func('int espeak_SetParameter(int parameter, int value, int relative)') as Fn,
      synth: lib.func(
        'int espeak_Synth(const char *text, size_t size, unsigned int position, int position_type, unsigned int end_position, unsigned int flags, void *unique_identifier, void *user_data)',
      ) as Fn,
      synchronize: lib.func('int espeak_Synchronize()') as Fn,
      textToPhonemes: lib.func('const char *espeak_TextToPhonemes(_Inout_ void **textptr, int textmode, int phonememode)') as Fn,
    };
    const rate = this.fns.initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, null, INITIALIZE_PHONEME_EVENTS) as number;
    if (rate <= 0) throw new EspeakUnavailableError(`espeak_Initialize failed (returned ${rate}); is espeak-ng-data installed? Fix: apt-get install espeak-ng-data`);
    this.sampleRateHz = rate;
    this.callbackPtr = koffi.register((wav: unknown, n: number, ev: unknown) => this.onAudio(wav, n, ev), koffi.pointer(cbProto));
    this.fns.setCallback(this.callbackPtr);
  }

  private onAudio(wav: unknown, n: number, ev: unknown): number {
    if (n > 0 && wav) this.chunks.push(new Int16Array(koffi.view(wav, n * 2).slice(0)));
    if (ev) {
      for (let i = 0; ; i++) {
        const raw = new DataView(koffi.view(ev, (i + 1) * EVENT_BYTES), i * EVENT_BYTES, EVENT_BYTES);
        const type = raw.getInt32(0, true);
        if (type === EVENT.LIST_TERMINATED) break;
        const e: EspeakEvent = {
          type,
          textPosition: raw.getInt32(8, true),
          length: raw.getInt32(12, true),
          audioPositionMs: raw.getInt32(16, true),
          sample: raw.getInt32(20, true),
        };
        if (type === EVENT.PHONEME) {
          // koffi cannot decode unions: read the 8 raw bytes of id.string and cut at the first NUL.
          let s = '';
          for (let k = 0; k < 8; k++) {
            const b = raw.getUint8(32 + k);
            if (b === 0) break;
            s += String.fromCharCode(b);
          }
          e.phoneme = s;
        } else e.number = raw.getInt32(32, true);
        this.events.push(e);
      }
    }
    return 0;
  }

  setVoice(v: VoiceSettings): void {
    // Voice and parameters are set before every utterance. Note: libespeak-ng also keeps internal state
    // (wavegen's pitch phase) from the previous utterance that no API resets, so the same call gives slightly
    // different audio (a few samples per phone) after a different history; synthCorpus therefore runs each
    // speaker's utterances, in plan order, in a fresh process.
    this.setParams(v);
    const rc = this.fns.setVoiceByName(v.voice) as number;
    if (rc !== 0) throw new Error(`espeak_SetVoiceByName("${v.voice}") failed (${rc}): not a voice espeak-ng knows. Fix: use a name from \`espeak-ng --voices=en\` with an optional +variant from voices/!v`);
    this.setParams(v);
  }

  private setParams(v: VoiceSettings): void {
    this.fns.setParameter(PARAM_RATE, Math.round(v.rate ?? 175), 0);
    this.fns.setParameter(PARAM_PITCH, Math.round(v.pitch ?? 50), 0);
    this.fns.setParameter(PARAM_RANGE, Math.round(v.pitchRange ?? 50), 0);
  }

  /**
   * The phonemes espeak would use for `text` with the current voice, as mnemonics without stress marks
   * (espeak_TextToPhonemes). Used to split a word group that espeak merged (e.g. "in the") into its words.
   */
  textToPhonemes(text: string): string[] {
    const buf = Buffer.from(text + '\0', 'utf8');
    const out = this.fns.textToPhonemes([buf], CHARS_UTF8, PHONEME_SEPARATOR) as string | null;
    return (out ?? '')
      .split(/\s+/)
      .map((t) => t.replace(/^[',%=]+/, ''))
      .filter((t) => t.length > 0);
  }

  /** Synthesise one utterance; returns its audio and events (sample positions relative to its start). */
  synth(text: string, voice?: VoiceSettings): SynthResult {
    if (voice) this.setVoice(voice);
    this.chunks = [];
    this.events = [];
    const bytes = Buffer.from(text + '\0', 'utf8');
    const rc = this.fns.synth(bytes, bytes.length, 0, POS_CHARACTER, 0, CHARS_UTF8, null, null) as number;
    if (rc !== 0) throw new Error(`espeak_Synth failed (${rc}) for text "${text.slice(0, 60)}"`);
    this.fns.synchronize();
    let total = 0;
    for (const c of this.chunks) total += c.length;
    const samples = new Int16Array(total);
    let o = 0;
    for (const c of this.chunks) {
      samples.set(c, o);
      o += c.length;
    }
    const events = this.events;
    this.chunks = [];
    this.events = [];
    // espeak counts samples across calls; rebase so positions start at this utterance.
    const base = events.length ? Math.min(...events.map((e) => e.sample)) : 0;
    for (const e of events) e.sample -= base;
    return { samples, sampleRateHz: this.sampleRateHz, events };
  }
}

let instance: Espeak | null = null;
/** The process's one synthesiser (libespeak-ng is process-global). */
export function getEspeak(): Espeak {
  instance ??= new Espeak();
  return instance;
}

export function espeakDataDir(): string | null {
  return ESPEAK_DATA_DIRS.find((d) => existsSync(d)) ?? null;
}
