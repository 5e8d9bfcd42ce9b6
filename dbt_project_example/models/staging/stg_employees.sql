select
    employee_id,
    full_name as employee_name,
    manager_id,
    department,
    cast(hired_on as date) as hired_on
from {{ source('shop', 'employees') }}
