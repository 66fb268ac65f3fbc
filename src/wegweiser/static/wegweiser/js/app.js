// Progressive enhancement only: every page works without this file.
// Move focus to the first form error so screen-reader and keyboard users land on it.
const firstError = document.querySelector(".has-error input, .has-error select, .has-error textarea");
if (firstError) {
  firstError.setAttribute("aria-invalid", "true");
  firstError.focus();
}
