// htmx swaps nothing on a 4xx/5xx answer, so a failed click would seem to do nothing. Show the
// server's own message (the #server-error of templates/500.html, or a 400 page's flash) in
// #messages instead, and keep the form as it is so the same click can be tried again.
document.addEventListener("htmx:responseError", function (event) {
  var box = document.getElementById("messages");
  if (!box) { return; }
  var xhr = event.detail.xhr;
  var text = "";
  try {
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var found = page.querySelector("#server-error, .flash.error");
    text = found ? found.textContent.trim() : "";
  } catch (e) { text = ""; }
  if (!text) {
    text = "The server could not answer (HTTP " + xhr.status + "); what you sent may not " +
      "have been saved. Try again.";
  }
  var flash = document.createElement("div");
  flash.className = "flash error";
  flash.setAttribute("role", "alert");
  flash.textContent = text;
  box.replaceChildren(flash);
});
