/** A filter's drop-down: "all" (empty value) first, then each choice, the current one selected. */
export function Picker(props: {
  name: string
  label: string
  all: string
  choices: readonly string[]
  selected: string | undefined
}) {
  return (
    <select name={props.name} aria-label={props.label}>
      <option value="">{props.all}</option>
      {props.choices.map((choice) => (
        <option value={choice} selected={props.selected === choice}>
          {choice}
        </option>
      ))}
    </select>
  )
}
