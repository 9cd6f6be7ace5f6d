// wav-decoder 1.3.0 ships no types (none on DefinitelyTyped either): the surface we use.
declare module 'wav-decoder' {
  export interface DecodedAudio {
    numberOfChannels: number;
    length: number;
    sampleRate: number;
    channelData: Float32Array[];
  }
  export interface DecodeOptions {
    /** Divide signed PCM by 2^(bits-1) for every value (default: negative by 2^(bits-1), positive by 2^(bits-1)-1). */
    symmetric?: boolean;
  }
  export interface Decode {
    (buffer: ArrayBuffer, opts?: DecodeOptions): Promise<DecodedAudio>;
    sync(buffer: ArrayBuffer, opts?: DecodeOptions): DecodedAudio;
  }
  export const decode: Decode;
  const _default: { decode: Decode };
  export default _default;
}
