/* Accessibility fixes to what jupyterquiz 2.9 (the chapters' self-check quizzes)
 * builds in the browser, checked by tests/book/test_browser.py. Jupyter Book
 * loads every JavaScript file of _static/ on every page.
 *
 * A numeric question's text field sits next to its "Type numeric answer here:"
 * <label> but is not tied to it, so a screen reader announces a field with no
 * name (axe: label, critical). Tie them with `for`, once the quiz is built (its
 * script builds it while the page loads, or after fetching its questions). */
(function () {
  "use strict";

  function labelQuizFields() {
    document.querySelectorAll(".Quiz label.InpLabel:not([for])").forEach(
      function (label) {
        var field = label.parentElement.querySelector("input.Input-text");
        if (field && field.id) {
          label.htmlFor = field.id;
        }
      }
    );
  }

  function start() {
    labelQuizFields();
    new MutationObserver(labelQuizFields).observe(document.body, {
      childList: true,
      subtree: true,
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
