// Small conveniences only; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Handing a conversation back makes the assistant talk again: ask first.
  const handback = document.getElementById("handback");
  if (handback) {
    handback.addEventListener("submit", (event) => {
      if (!window.confirm("Devolver a conversa ao assistente?")) event.preventDefault();
    });
  }
  // Open the transcript at its end, where the latest messages are.
  const transcript = document.getElementById("transcript");
  if (transcript && !window.location.hash) {
    document.getElementById("bottom")?.scrollIntoView();
  }
});
