/**
 * Measures the level of one audio MediaStreamTrack in the page with a WebAudio
 * AnalyserNode: `level()` is the RMS of the latest time-domain window (0..1),
 * `max` the highest level sampled (every 50 ms) since the last `reset()`.
 */
export class AudioLevelMeter {
  private ctx: AudioContext | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private analyser: AnalyserNode | null = null;
  private buffer: Float32Array<ArrayBuffer> | null = null;
  private timer: number | undefined;
  private track: MediaStreamTrack | null = null;
  max = 0;

  attach(track: MediaStreamTrack): void {
    if (this.track === track) return;
    this.detach();
    const Ctx: typeof AudioContext | undefined =
      window.AudioContext ?? (window as unknown as { webkitAudioContext?: typeof AudioContext }).webkitAudioContext;
    if (!Ctx) return;
    try {
      const ctx = new Ctx();
      void ctx.resume().catch(() => undefined);
      const source = ctx.createMediaStreamSource(new MediaStream([track]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 2048;
      analyser.smoothingTimeConstant = 0;
      source.connect(analyser); // not connected to the destination: playback is the <audio> element's job
      this.ctx = ctx;
      this.source = source;
      this.analyser = analyser;
      this.buffer = new Float32Array(analyser.fftSize);
      this.track = track;
      this.timer = window.setInterval(() => {
        if (this.ctx?.state === 'suspended') void this.ctx.resume().catch(() => undefined);
        const l = this.level();
        if (l > this.max) this.max = l;
      }, 50);
    } catch (err) {
      console.warn('[parley] could not measure agent audio', err);
      this.detach();
    }
  }

  detach(): void {
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
    this.source?.disconnect();
    this.analyser?.disconnect();
    void this.ctx?.close().catch(() => undefined);
    this.ctx = this.source = this.analyser = null;
    this.buffer = null;
    this.track = null;
  }

  reset(): void {
    this.max = 0;
  }

  level(): number {
    if (!this.analyser || !this.buffer) return 0;
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (let i = 0; i < this.buffer.length; i++) sum += this.buffer[i] * this.buffer[i];
    return Math.min(1, Math.sqrt(sum / this.buffer.length));
  }
}
