// CallQC review page behaviour: seek the audio from findings, transcript lines and the timeline;
// fill the "add a missed finding" span from a transcript selection or the player position.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const player = document.getElementById("player");
  const timeline = document.getElementById("timeline");
  if (!player) return;
  const duration = () => (isFinite(player.duration) && player.duration > 0)
    ? player.duration : parseFloat(timeline.dataset.duration) || 1;

  function seek(seconds) {
    player.currentTime = Math.max(0, seconds);
    const playing = player.play();
    if (playing) playing.catch(() => {});  // autoplay refused: the position is still set
  }

  // Marker positions are set here, not in inline styles (the content security policy forbids those).
  function placeMarkers() {
    for (const marker of timeline.querySelectorAll(".marker")) {
      const start = parseFloat(marker.dataset.start), end = parseFloat(marker.dataset.end);
      marker.style.left = (100 * start / duration()) + "%";
      marker.style.width = Math.max(0.6, 100 * (end - start) / duration()) + "%";
    }
  }
  placeMarkers();
  player.addEventListener("loadedmetadata", placeMarkers);

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-seek]");
    if (!target || event.target.closest("form")) return;
    if (window.getSelection().toString()) return;  // selecting transcript text, not seeking
    seek(parseFloat(target.dataset.seek));
  });
  timeline.addEventListener("click", (event) => {
    if (event.target !== timeline) return;
    const box = timeline.getBoundingClientRect();
    seek(duration() * (event.clientX - box.left) / box.width);
  });

  const playhead = document.getElementById("playhead");
  const lines = Array.from(document.querySelectorAll("#transcript .seg"));
  player.addEventListener("timeupdate", () => {
    const now = player.currentTime;
    playhead.style.left = (100 * now / duration()) + "%";
    for (const line of lines) {
      line.classList.toggle("current", now >= parseFloat(line.dataset.start) && now < parseFloat(line.dataset.end));
    }
  });

  for (const button of document.querySelectorAll("[data-mark]")) {
    button.addEventListener("click", () => {
      document.getElementById(button.dataset.mark).value = player.currentTime.toFixed(2);
    });
  }

  const transcript = document.getElementById("transcript");
  const form = document.getElementById("add-finding");
  if (transcript && form) {
    transcript.addEventListener("mouseup", () => {
      const selection = window.getSelection();
      if (!selection.rangeCount || !selection.toString().trim()) return;
      const range = selection.getRangeAt(0);
      const chosen = lines.filter((line) => range.intersectsNode(line));
      if (!chosen.length) return;
      const speakers = new Set(chosen.map((line) => line.dataset.speaker));
      document.getElementById("span-start").value = chosen[0].dataset.start;
      document.getElementById("span-end").value = chosen[chosen.length - 1].dataset.end;
      document.getElementById("span-speaker").value = speakers.size === 1 ? [...speakers][0] : "any";
      document.getElementById("span-text").value = selection.toString().trim().slice(0, 4000);
    });
  }
});
