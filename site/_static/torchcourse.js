// sphinx-book-theme 1.4 shows its own ☰ (and table-of-contents) button in the article header,
// but pydata-sphinx-theme 0.20 wires up only the first .primary-toggle (.secondary-toggle) of
// the page, the hidden navbar's: on a phone a tap showed a tooltip and no chapter list. Pass a
// click on any other toggle on to the wired one.
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of ["primary", "secondary"]) {
    const [wired, ...others] = document.querySelectorAll(`.${kind}-toggle`);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        event.stopPropagation();
        wired.click();
      });
    }
  }
});
