// Alert beeps from WebAudio: no sound file to ship. Browsers start audio only after a gesture, so the first
// click or key anywhere unlocks it; until then a button in the header offers to.
let context = null;

function audio() {
  if (!context) {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    context = new Context();
  }
  return context;
}

export function unlockOnGesture(button) {
  const unlock = () => {
    audio()?.resume();
    button.hidden = true;
  };
  for (const type of ["pointerdown", "keydown"]) window.addEventListener(type, unlock, { capture: true });
  button.addEventListener("click", unlock);
  const ctx = audio();
  button.hidden = !ctx || ctx.state === "running";
}

/** count beeps of `ms` each at `hz`; louder and lower for a breach. */
export function beep({ count = 2, ms = 180, hz = 880 } = {}) {
  // Counted on the page, so a test (or a curious operator in the inspector) can see that it sounded.
  document.documentElement.dataset.alertSounds = String(Number(document.documentElement.dataset.alertSounds || 0) + 1);
  const ctx = audio();
  if (!ctx) return;
  const start = ctx.currentTime + 0.02;
  for (let i = 0; i < count; i += 1) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = hz;
    const at = start + i * (ms * 2) / 1000;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.25, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + ms / 1000);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + ms / 1000 + 0.02);
  }
}
