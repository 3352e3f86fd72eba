// A chosen YAML file fills the text area, so that what is sent is what the admin sees.
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.dataset || !input.dataset.fills || !input.files || !input.files[0]) { return; }
  input.files[0].text().then(function (text) {
    document.getElementById(input.dataset.fills).value = text;
  });
});
