// The page works without this file; it only adds Ctrl+Enter (or Cmd+Enter) to submit a form.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target instanceof Element ? event.target.closest("form") : null;
  if (form && event.target.matches("textarea, input")) {
    event.preventDefault();
    form.requestSubmit();
  }
});
