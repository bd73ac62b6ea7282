// Small behaviours declared in the markup with data- attributes, instead of inline handlers
// (onclick=...), which the Content-Security-Policy does not run.
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-opens]");
  if (opener) {
    var dialog = document.getElementById(opener.dataset.opens);
    if (dialog && dialog.showModal) { dialog.showModal(); }
  }
});
document.addEventListener("focusin", function (event) {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
    event.target.select();
  }
});
document.addEventListener("click", function (event) {
  if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
    event.target.select();
  }
});
